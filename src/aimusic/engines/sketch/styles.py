"""What each genre, mood and instrument means musically: the data the composer reads.

Drum grids are 16 steps per bar (sixteenth notes); a step is 'X' accent, 'x' normal, 'o' soft,
'-' silent. Progressions are roman numerals (one chord per bar), listed separately for major and
minor keys; each starts on the tonic so the key is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# General-MIDI drum notes; the synth maps each to its own drum voice.
KICK, RIM, SNARE, CLAP, HAT, PEDAL_HAT, OPEN_HAT, CRASH, RIDE, TOM_LOW, TOM_MID, TOM_HIGH, SHAKER = (
    36, 37, 38, 39, 42, 44, 46, 49, 51, 45, 47, 50, 70)


@dataclass(frozen=True)
class DrumPattern:
    kick: str = "----------------"
    snare: str = "----------------"
    clap: str = "----------------"
    hat: str = "----------------"
    open_hat: str = "----------------"
    ride: str = "----------------"
    rim: str = "----------------"
    shaker: str = "----------------"
    toms: str = "----------------"

    def lanes(self) -> list[tuple[int, str]]:
        return [(KICK, self.kick), (SNARE, self.snare), (CLAP, self.clap), (HAT, self.hat),
                (OPEN_HAT, self.open_hat), (RIDE, self.ride), (RIM, self.rim), (SHAKER, self.shaker),
                (TOM_LOW, self.toms)]


@dataclass(frozen=True)
class Genre:
    name: str
    aliases: tuple[str, ...]
    bpm: int
    bpm_range: tuple[int, int]
    mode: str                          # default mode when no key/mood says otherwise
    major_progressions: tuple[tuple[str, ...], ...]
    minor_progressions: tuple[tuple[str, ...], ...]
    drums: DrumPattern | None          # main groove (chorus strength)
    drums_light: DrumPattern | None    # verse/intro groove
    fill: str                          # "snare", "toms", "roll", "none"
    swing: float                       # 0.5 = straight; 0.6 = swung sixteenths/eighths
    bass: str                          # bass style (see compose.BASS_STYLES)
    harmony: str                       # chord style (see compose.HARMONY_STYLES)
    voices: dict[str, str]             # role -> voice: bass, chords, pad, arp, lead
    form: tuple[tuple[str, int], ...]  # genre-typical form, (section kind, bars)
    lead_scale: str = "diatonic"       # or "pentatonic"
    vinyl: bool = False
    reverb: float = 0.2
    extras: dict[str, float] = field(default_factory=dict)


_POP_FORM = (("intro", 4), ("verse", 8), ("pre-chorus", 4), ("chorus", 8), ("verse", 8), ("chorus", 8),
             ("bridge", 8), ("chorus", 8), ("outro", 4))
_EDM_FORM = (("intro", 8), ("build", 8), ("drop", 16), ("breakdown", 8), ("build", 8), ("drop", 16),
             ("outro", 8))

GENRES: dict[str, Genre] = {g.name: g for g in [
    Genre("pop", ("pop", "dance pop", "indie pop", "k-pop", "kpop", "j-pop", "jpop", "synthpop", "electropop"),
          110, (90, 128), "major",
          (("I", "V", "vi", "IV"), ("I", "vi", "IV", "V"), ("I", "IV", "vi", "V")),
          (("i", "VI", "iv", "V"), ("i", "iv", "VI", "V")),
          DrumPattern(kick="X-----x-X-----x-", snare="----X-------X---", hat="x-x-x-x-x-x-x-x-",
                      open_hat="--------------x-"),
          DrumPattern(kick="X-------X-------", rim="----x-------x---", hat="x---x---x---x---"),
          "snare", 0.5, "pop", "block",
          {"bass": "synth_bass", "chords": "piano", "pad": "pad", "arp": "pluck", "lead": "lead"}, _POP_FORM),
    Genre("rock", ("rock", "alternative", "indie rock", "punk", "grunge", "hard rock", "pop rock", "classic rock"),
          125, (100, 160), "major",
          (("I", "IV", "V", "IV"), ("I", "bVII", "IV", "I"), ("I", "V", "IV", "V")),
          (("i", "bVI", "bVII", "i"), ("i", "bVII", "bVI", "V")),
          DrumPattern(kick="X-----X-X-x-----", snare="----X-------X---", hat="x-x-x-x-x-x-x-x-",
                      ride="----------------"),
          DrumPattern(kick="X-------X-------", snare="----X-------X---", hat="x-x-x-x-x-x-x-x-"),
          "toms", 0.5, "eighths", "power",
          {"bass": "finger_bass", "chords": "overdrive_guitar", "pad": "organ", "arp": "clean_guitar",
           "lead": "overdrive_guitar"},
          (("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("solo", 8), ("chorus", 8),
           ("outro", 4))),
    Genre("lofi", ("lofi", "lo-fi", "lo fi", "hip hop", "hip-hop", "hiphop", "boom bap", "chillhop", "lofi hip hop",
                   "rap", "trap", "beats"),
          80, (68, 95), "major",
          (("Imaj7", "vi7", "ii7", "V7"), ("Imaj7", "IVmaj7", "iii7", "vi7"), ("Imaj7", "ii7", "iii7", "IVmaj7")),
          (("i7", "iv7", "bVII7", "bIIImaj7"), ("i7", "bVImaj7", "iv7", "v7")),
          DrumPattern(kick="X-----x---X-----", snare="----X-------X---", hat="x-x-x-x-x-xox-x-"),
          DrumPattern(kick="X---------X-----", rim="----x-------x---", hat="x---x---x---x---"),
          "snare", 0.6, "sub", "comp",
          {"bass": "sub_bass", "chords": "epiano", "pad": "pad", "arp": "bells", "lead": "epiano"},
          (("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("outro", 4)),
          lead_scale="pentatonic", vinyl=True, reverb=0.25),
    Genre("edm", ("edm", "house", "deep house", "techno", "trance", "dance", "electronic", "club", "progressive house",
                  "future bass", "electro"),
          124, (118, 132), "minor",
          (("I", "iii", "IV", "V"), ("I", "vi", "iii", "IV")),
          (("i", "VI", "iv", "VII"), ("i", "iv", "VI", "VII")),
          DrumPattern(kick="X---X---X---X---", clap="----X-------X---", hat="--x---x---x---x-",
                      open_hat="--X---X---X---X-", shaker="xoxoxoxoxoxoxoxo"),
          DrumPattern(kick="X---X---X---X---", hat="--x---x---x---x-"),
          "roll", 0.5, "offbeat", "stabs",
          {"bass": "synth_bass", "chords": "supersaw", "pad": "pad", "arp": "pluck", "lead": "supersaw"},
          _EDM_FORM, reverb=0.3),
    Genre("synthwave", ("synthwave", "retrowave", "outrun", "80s", "darksynth", "vaporwave", "synth-pop 80s"),
          100, (84, 118), "minor",
          (("I", "bVI", "bVII", "I"), ("I", "V", "bVII", "IV")),
          (("i", "bVI", "bIII", "bVII"), ("i", "bVII", "bVI", "bVII7")),
          DrumPattern(kick="X-------X-------", snare="----X-------X---", hat="xoxoxoxoxoxoxoxo"),
          DrumPattern(kick="X-------X-------", snare="----X-------X---", hat="x-x-x-x-x-x-x-x-"),
          "toms", 0.5, "octave", "arp",
          {"bass": "synth_bass", "chords": "pad", "pad": "pad", "arp": "pluck", "lead": "lead"},
          _POP_FORM, reverb=0.35),
    Genre("jazz", ("jazz", "swing", "bebop", "bossa nova", "bossa", "smooth jazz", "jazzy", "big band", "blues"),
          120, (80, 180), "major",
          (("Imaj7", "VI7", "ii7", "V7"), ("Imaj7", "IV7", "iii7", "VI7"), ("Imaj7", "ii7", "V7", "Imaj7")),
          (("i7", "iv7", "iim7b5", "V7"), ("i7", "bVImaj7", "iim7b5", "V7")),
          DrumPattern(kick="o-------o-------", snare="------o-------o-", ride="X---x-x-X---x-x-",
                      hat="----x-------x---"),
          DrumPattern(ride="x---x-x-x---x-x-", hat="----x-------x---"),
          "snare", 0.62, "walking", "comp",
          {"bass": "upright_bass", "chords": "piano", "pad": "organ", "arp": "piano", "lead": "sax"},
          (("intro", 4), ("head", 8), ("head", 8), ("solo", 8), ("solo", 8), ("head", 8), ("outro", 4))),
    Genre("ambient", ("ambient", "drone", "meditation", "new age", "atmospheric", "soundscape", "space"),
          70, (50, 90), "major",
          (("Imaj7", "IVmaj7", "vi7", "IVmaj7"), ("I", "iii", "IV", "I")),
          (("i", "bVI", "iv", "i"), ("i7", "bIIImaj7", "bVImaj7", "iv7")),
          None, None, "none", 0.5, "drone", "pad",
          {"bass": "sub_bass", "chords": "pad", "pad": "strings", "arp": "bells", "lead": "flute"},
          (("intro", 8), ("verse", 8), ("chorus", 8), ("verse", 8), ("outro", 8)), reverb=0.5),
    Genre("orchestral", ("orchestral", "cinematic", "epic orchestral", "film score", "soundtrack", "classical",
                         "trailer", "symphonic", "score"),
          90, (65, 120), "minor",
          (("I", "IV", "I", "V"), ("I", "V", "vi", "iii")),
          (("i", "bVI", "bIII", "V"), ("i", "iv", "i", "V")),
          DrumPattern(toms="X-------X-x-----", kick="X-------X-------", snare="------------x---"),
          DrumPattern(toms="X---------------"),
          "toms", 0.5, "sustained", "strings",
          {"bass": "strings_low", "chords": "strings", "pad": "choir", "arp": "harp", "lead": "horn"},
          (("intro", 4), ("verse", 8), ("chorus", 8), ("bridge", 8), ("chorus", 8), ("outro", 4)), reverb=0.45),
    Genre("chiptune", ("chiptune", "8-bit", "8bit", "8 bit", "chip", "video game", "nes", "retro game", "bitpop"),
          140, (120, 170), "major",
          (("I", "IV", "V", "I"), ("I", "vi", "ii", "V")),
          (("i", "bVII", "bVI", "bVII"), ("i", "iv", "V", "i")),
          DrumPattern(kick="X-------X-x-----", snare="----X-------X---", hat="x-x-x-x-x-x-x-x-"),
          DrumPattern(kick="X-------X-------", snare="----X-------X---"),
          "roll", 0.5, "octave", "fast_arp",
          {"bass": "triangle", "chords": "square", "pad": "square", "arp": "square", "lead": "pulse"},
          _POP_FORM, reverb=0.05),
    Genre("funk", ("funk", "funky", "disco", "soul", "r&b", "rnb", "motown", "groove"),
          105, (92, 120), "major",
          (("I7", "IV7", "I7", "V7"), ("I7", "I7", "IV7", "IV7")),
          (("i7", "iv7", "i7", "bVII7"), ("i7", "i7", "iv7", "V7")),
          DrumPattern(kick="X--x--x---X--x--", snare="----X--o-o--X--o", hat="xoxoxoxoxoxoxoxo",
                      open_hat="------x-------x-"),
          DrumPattern(kick="X-----x---X-----", snare="----X-------X---", hat="x-x-x-x-x-x-x-x-"),
          "snare", 0.54, "funk", "stabs",
          {"bass": "slap_bass", "chords": "clav", "pad": "organ", "arp": "clean_guitar", "lead": "brass"},
          _POP_FORM),
    Genre("folk", ("folk", "acoustic", "country", "singer-songwriter", "americana", "bluegrass", "indie folk"),
          96, (78, 124), "major",
          (("I", "V", "IV", "I"), ("I", "vi", "IV", "I"), ("I", "IV", "ii", "V")),
          (("i", "bVII", "i", "iv"), ("i", "iv", "bVII", "i")),
          DrumPattern(kick="X-------X-------", rim="----x-------x---", shaker="xoxoxoxoxoxoxoxo"),
          DrumPattern(shaker="x-o-x-o-x-o-x-o-"),
          "snare", 0.5, "root_fifth", "strum",
          {"bass": "upright_bass", "chords": "acoustic_guitar", "pad": "strings", "arp": "acoustic_guitar",
           "lead": "violin"},
          (("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("bridge", 4), ("chorus", 8),
           ("outro", 4))),
    Genre("metal", ("metal", "heavy metal", "metalcore", "thrash", "djent", "death metal", "nu metal", "doom"),
          150, (120, 190), "minor",
          (("I", "bVII", "bVI", "bVII"), ("I", "IV", "bVII", "I")),
          (("i", "bII", "i", "bVII"), ("i", "bVI", "bII", "V")),
          DrumPattern(kick="XoxoXoxoXoxoXoxo", snare="----X-------X---", ride="X-x-X-x-X-x-X-x-"),
          DrumPattern(kick="X-x-----X-x-----", snare="----X-------X---", hat="X-x-X-x-X-x-X-x-"),
          "toms", 0.5, "chug", "power",
          {"bass": "finger_bass", "chords": "distortion_guitar", "pad": "strings", "arp": "distortion_guitar",
           "lead": "distortion_guitar"},
          (("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("breakdown", 8), ("chorus", 8),
           ("outro", 4))),
    Genre("reggaeton", ("reggaeton", "latin", "dembow", "latin pop", "salsa", "cumbia", "moombahton", "dancehall",
                        "reggae"),
          95, (86, 104), "minor",
          (("I", "V", "ii", "IV"), ("I", "iii", "ii", "V")),
          (("i", "iv", "bVII", "bIII"), ("i", "bIII", "iv", "bVI")),
          DrumPattern(kick="X---X---X---X---", snare="---o--x----o--x-", hat="x-x-x-x-x-x-x-x-"),
          DrumPattern(kick="X---X---X---X---", rim="---x--x----x--x-"),
          "roll", 0.5, "dembow", "offbeat",
          {"bass": "sub_bass", "chords": "pluck", "pad": "pad", "arp": "marimba", "lead": "pluck"},
          _POP_FORM),
    Genre("corporate", ("corporate", "background", "commercial", "advert", "advertising", "upbeat corporate",
                        "presentation", "motivational", "business", "stock music"),
          112, (100, 126), "major",
          (("I", "ii", "IV", "V"), ("I", "IV", "V", "vi"), ("I", "V", "vi", "V")),
          (("i", "bIII", "bVII", "iv"), ("i", "bVI", "bVII", "iv")),
          DrumPattern(kick="X-------X-------", clap="----X-------X---", shaker="xoxoxoxoxoxoxoxo"),
          DrumPattern(kick="X-------X-------", shaker="x-o-x-o-x-o-x-o-"),
          "snare", 0.5, "eighths", "ostinato",
          {"bass": "finger_bass", "chords": "piano", "pad": "strings", "arp": "marimba", "lead": "bells"},
          (("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("outro", 4))),
]}

DEFAULT_GENRE = "pop"


@dataclass(frozen=True)
class Mood:
    name: str
    words: tuple[str, ...]
    mode: str | None       # preferred mode, or None
    tempo_scale: float     # multiplies the genre's default tempo
    energy: float          # added to every section's energy (-0.3..+0.3)
    brightness: float      # lead/harmony register shift in semitones


MOODS: dict[str, Mood] = {m.name: m for m in [
    Mood("happy", ("happy", "joyful", "cheerful", "fun", "playful", "bright", "sunny", "optimistic", "upbeat"),
         "major", 1.05, 0.1, 2),
    Mood("sad", ("sad", "melancholic", "melancholy", "sorrowful", "heartbreak", "lonely", "emotional", "tearful",
                 "nostalgic", "bittersweet"), "minor", 0.88, -0.1, -2),
    Mood("dark", ("dark", "ominous", "sinister", "menacing", "horror", "gloomy", "tense", "mysterious", "eerie"),
         "minor", 0.95, 0.0, -4),
    Mood("epic", ("epic", "heroic", "powerful", "triumphant", "anthemic", "majestic", "grand", "intense"),
         "minor", 1.0, 0.25, 0),
    Mood("chill", ("chill", "relaxed", "relaxing", "calm", "mellow", "laid back", "laid-back", "chilled", "smooth",
                   "cozy", "study", "sleep", "peaceful", "soft", "gentle", "dreamy", "warm"), None, 0.92, -0.2, 0),
    Mood("energetic", ("energetic", "driving", "aggressive", "hype", "exciting", "uplifting", "euphoric", "party",
                       "bouncy", "hard-hitting"), None, 1.08, 0.25, 1),
    Mood("romantic", ("romantic", "love", "tender", "intimate", "sensual", "sweet"), "major", 0.94, -0.1, 0),
]}

# Instrument word -> (role, voice). Genre-aware choices (e.g. guitar in metal) are made in tags.py.
INSTRUMENTS: dict[str, tuple[str, str]] = {
    "piano": ("chords", "piano"), "grand piano": ("chords", "piano"), "keys": ("chords", "piano"),
    "electric piano": ("chords", "epiano"), "rhodes": ("chords", "epiano"), "wurlitzer": ("chords", "epiano"),
    "organ": ("chords", "organ"), "hammond": ("chords", "organ"), "clavinet": ("chords", "clav"),
    "guitar": ("chords", "guitar"), "acoustic guitar": ("chords", "acoustic_guitar"),
    "electric guitar": ("chords", "clean_guitar"), "distorted guitar": ("chords", "distortion_guitar"),
    "ukulele": ("chords", "acoustic_guitar"), "banjo": ("chords", "acoustic_guitar"),
    "bass": ("bass", "bass"), "bass guitar": ("bass", "finger_bass"), "808": ("bass", "sub_bass"),
    "synth bass": ("bass", "synth_bass"), "upright bass": ("bass", "upright_bass"), "slap bass": ("bass", "slap_bass"),
    "strings": ("pad", "strings"), "string": ("pad", "strings"), "orchestra": ("pad", "strings"),
    "cello": ("pad", "strings"), "choir": ("pad", "choir"), "pad": ("pad", "pad"), "pads": ("pad", "pad"),
    "synth pad": ("pad", "pad"), "synth": ("lead", "lead"), "synths": ("lead", "lead"),
    "synthesizer": ("lead", "lead"), "lead synth": ("lead", "lead"), "supersaw": ("chords", "supersaw"),
    "sax": ("lead", "sax"), "saxophone": ("lead", "sax"), "violin": ("lead", "violin"),
    "fiddle": ("lead", "violin"), "brass": ("lead", "brass"), "trumpet": ("lead", "brass"),
    "horns": ("lead", "brass"), "horn": ("lead", "horn"), "flute": ("lead", "flute"), "whistle": ("lead", "flute"),
    "bells": ("arp", "bells"), "glockenspiel": ("arp", "bells"), "music box": ("arp", "bells"),
    "marimba": ("arp", "marimba"), "vibraphone": ("arp", "marimba"), "harp": ("arp", "harp"),
    "pluck": ("arp", "pluck"), "arpeggio": ("arp", "pluck"), "arp": ("arp", "pluck"),
    "drums": ("drums", "kit"), "drum": ("drums", "kit"), "percussion": ("drums", "kit"),
    "beat": ("drums", "kit"), "drum machine": ("drums", "kit"),
}
NO_DRUMS = ("no drums", "without drums", "drumless", "no percussion")
VINYL_WORDS = ("vinyl", "vinyl crackle", "crackle", "tape", "cassette", "lo-fi texture")
LOOP_WORDS = ("seamless loop", "loop", "loopable", "looping", "seamless")
VOCAL_WORDS = ("vocal", "vocals", "voice", "singer", "sung", "female vocals", "male vocals", "female vocal",
               "male vocal", "female voice", "male voice", "choir vocals", "rap vocals", "instrumental")
FAST_WORDS = ("fast tempo", "fast", "up-tempo", "uptempo", "quick", "high tempo", "fast-paced")
SLOW_WORDS = ("slow tempo", "slow", "downtempo", "down-tempo", "low tempo", "slow-paced", "ballad")
