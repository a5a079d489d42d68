"""The planner's word lists, as data.

English lists are matched on Snowball stems (plan/words.py), so one entry covers its plurals
and inflections ("bed" matches "beds", "loop" matches "looping"); an entry starting with "="
matches that surface form only ("=extend" is not "extended"). Requests in Spanish, German,
French and Portuguese are read through a glossary per language, matched on that language's
Snowball stems; Chinese, Japanese and Korean through a glossary of substrings (longest first).
A glossary maps the local words to the English words the rules know, so every rule is written
once and a foreign request routes like its English equivalent. The glossary never touches the
style text: the user's own words go to the model.
"""

from __future__ import annotations

# ---- routing words (English) ---------------------------------------------------------------------

PREMIUM_WORDS = (
    "brand", "branding", "commercial", "advert", "advertisement", "ad", "ads", "tv spot",
    "client", "client deliverable", "deliverable", "radio-ready", "radio ready", "super bowl",
    "campaign", "premium", "polished", "polish", "high-end", "high end", "expensive", "luxury",
    "broadcast", "professional", "label-ready", "release-ready", "chart", "hit single", "best quality",
    "highest quality", "top quality", "studio quality", "final render", "theme song", "title theme",
    "trailer", "sonic logo", "flagship", "high quality", "top-notch", "top notch", "pricey", "costly",
    "money is no object", "whatever it costs", "spare no expense", "cost is no issue", "no budget limit",
    "spotify-ready", "release quality", "pro quality", "hi-fi", "world-class", "best possible",
    "sync licensing", "keynote", "showcase", "masterpiece", "award-winning", "elevenlabs", "eleven labs",
)
# Cost words that describe a kind of music more than a budget: alone against a premium word they lose
# ("a TV ad bed" is an ad), a price or draft word wins ("a cheap ad jingle" is cheap).
WEAK_COST_WORDS = ("background", "bed", "loop", "loopable", "game loop", "filler", "many", "stock")
COST_WORDS = (
    "cheap", "cheaply", "cheapest", "draft", "budget", "budget-friendly", "batch", "library",
    "low cost", "low-cost", "inexpensive", "affordable", "quick", "rough", "demo", "sketch", "placeholder",
    "prototype", "mockup", "mock-up", "test", "bulk", "stock", "background", "game loop", "loop", "=loopable",
    "bed", "filler", "free", "variation", "iterate", "many", "lots of", "a lot of", "tons of", "loads of",
    "plenty of", "a bunch of", "bunch of", "dozens", "hundreds", "scratch", "temp", "throwaway",
    "as cheap as possible", "low budget", "shoestring", "for pennies", "dirt cheap", "economical",
    "cost-effective", "cost effective", "frugal", "on a budget", "penny", "pennies", "under a dollar",
    "cheapo", "lowest cost", "minimal cost", "keep costs down", "keep it cheap", "save money",
)
# Price words: negated, they flip ("nothing expensive" is cost-sensitive, "not cheap" is premium).
PRICE_PREMIUM = ("expensive", "premium", "pricey", "costly", "high-end", "high end", "luxury", "fancy")
PRICE_COST = ("cheap", "cheaply", "cheapest", "inexpensive", "affordable", "low cost", "low-cost",
              "budget-friendly", "economical", "cost-effective")
INTENSIFIERS = ("very", "really", "super", "extremely", "ultra", "so", "too", "quite", "incredibly", "highly",
                "truly", "absolutely", "totally", "seriously", "insanely", "crazy", "mega", "hyper", "way",
                "overly", "pretty", "real", "most", "more", "even")
NEGATORS = ("no", "not", "without", "nothing", "never", "none", "non", "nor", "avoid", "instead of",
            "rather than", "zero", "skip", "minus", "except", "lose the", "ditch the", "drop the", "leave out",
            "free of", "nothing too", "dont", "doesnt", "isnt", "shouldnt", "cant", "wont", "dont want",
            "mustnt", "neednt", "wasnt", "arent", "cannot")
# The scope of a negation ends at punctuation or at one of these.
SCOPE_BREAKS = ("but", "and", "then", "with", "just", "only", "yet", "though", "although", "so", "because",
                "plus", "instead", "while", "however")

SEQUENCE_WORDS = ("then", "afterwards", "after that", "later", "once", "finally", "and then", "before the final",
                  "next", "after")

LANGUAGE_NAMES = {
    "english": "en", "chinese": "zh", "mandarin": "zh", "cantonese": "yue", "japanese": "ja",
    "korean": "ko", "spanish": "es", "german": "de", "french": "fr", "portuguese": "pt",
    "brazilian": "pt", "italian": "it", "russian": "ru", "hindi": "hi", "arabic": "ar", "turkish": "tr",
    "polish": "pl", "dutch": "nl", "czech": "cs", "hungarian": "hu", "swedish": "sv", "norwegian": "no",
    "danish": "da", "finnish": "fi", "greek": "el", "hebrew": "he", "thai": "th", "vietnamese": "vi",
    "indonesian": "id", "malay": "ms", "tagalog": "tl", "filipino": "tl", "swahili": "sw",
    "ukrainian": "uk", "romanian": "ro", "bulgarian": "bg", "bengali": "bn", "tamil": "ta",
    "telugu": "te", "urdu": "ur", "persian": "fa", "farsi": "fa", "catalan": "ca", "croatian": "hr",
    "serbian": "sr",
}
MULTI_WORDS = ("multilingual", "multi-lingual", "bilingual", "trilingual", "several languages", "many languages",
               "every language", "each language", "other languages", "localized", "localised", "localize",
               "localise", "translated", "international launch", "different languages", "languages")

VOCAL_WORDS = ("vocal", "vocals", "vocalist", "singer", "singing", "sung", "sing", "sings", "lyrics", "lyric",
               "rap", "rapper", "rapping", "rapped", "choir", "duet", "voice", "hook with lyrics", "chant",
               "crooner", "crooning", "vox", "topline", "a cappella", "acapella", "harmonies", "verses",
               "spoken word", "falsetto", "belting", "belted", "choral")
INSTRUMENTAL_WORDS = ("instrumental", "no vocals", "no vocal", "without vocals", "no singing",
                      "no voice", "no lyrics", "beat", "bed", "loop", "background", "=loopable",
                      "underscore", "ambient", "sonic logo", "stinger", "soundtrack", "score", "karaoke",
                      "backing track", "inst")

EDIT_VERBS = ("fix", "repair", "redo", "re-do", "replace", "repaint", "regenerate", "re-generate", "inpaint",
              "outpaint", "=extend", "=extending", "=extends", "lengthen", "=continue", "append", "prepend",
              "re-record", "rerecord", "touch up", "clean up", "correct", "reroll", "re-roll", "swap out",
              "=stretch", "make it longer", "twice as long", "double the length", "double its length",
              "triple the length", "=fixed", "=redone", "=replaced", "=repainted", "=rework", "=rewrite",
              "re-render", "rerender", "re-generate", "=lengthened", "=extended by", "do over", "=retry")
# weak: an edit only with an amount to add or a reference to the track ("add an intro to my song")
EDIT_WEAK = ("=add", "=adding", "=adds", "tack on", "stick", "=put", "give it", "pad it out", "=grow", "=bump",
             "=make", "=turn", "=bring", "=get")
COMPLAINTS = ("came out wrong", "comes out wrong", "sounds wrong", "sound wrong", "sounds off", "sound off",
              "is off", "are off", "glitch", "glitches", "glitchy", "is bad", "are bad", "sounds bad", "sound bad",
              "is broken", "messed up", "went wrong", "is wrong", "are wrong", "clipping", "artifact", "artifacts",
              "garbled", "out of tune", "off-key", "off key", "doesn't fit", "is weak", "too short", "cuts off",
              "ends too abruptly", "ends abruptly", "abrupt")
AUDIO_NOUNS = ("track", "song", "hook", "clip", "recording", "audio", "file", "demo", "mix", "take", "loop",
               "beat", "piece", "jingle", "tune", "bed", "cue", "instrumental", "sample", "riff", "melody",
               "stem", "render", "export", "bounce", "master", "version", "upload", "wav", "mp3", "sketch", "idea")
AUDIO_REF_DETERMINERS = ("this", "that", "the", "my", "our", "your", "attached", "uploaded", "existing",
                         "current", "same", "these", "those")
EXTENSION_HINTS = ("more", "another", "longer", "extra", "additional", "further", "added")

REMIX_WORDS = ("remix", "cover", "restyle", "re-style", "reimagine", "re-imagine", "in the style of",
               "turn it into", "make it sound like", "as a ", "convert it to", "rework", "rearrange",
               "re-arrange", "same song as", "style transfer")
MASK_WORDS = ("mask", "remove the vocals", "remove the vocal", "remove vocals", "isolate", "only the drums",
              "only the vocals", "just the drums", "just the bass", "just the vocals", "mute the",
              "take out the", "separate the", "stem", "without changing the timing", "swap the instrument",
              "change the instrument", "replace the drums", "replace the vocals", "replace the guitar")
SECTION_WORDS = ("intro", "verse", "pre-chorus", "chorus", "bridge", "hook", "break", "solo", "outro",
                 "drop", "breakdown", "ending", "middle", "part", "section")

# ---- style vocabulary: recognised (for defaults, splitting v1 tags), never a filter -------------------

GENRES = (
    "lo-fi hip hop", "lofi hip hop", "lo-fi", "lofi", "lo fi", "hip hop", "hip-hop", "boom bap", "trap", "drill",
    "r&b", "rnb", "neo soul", "soul", "funk", "disco", "house", "deep house", "tech house", "techno",
    "trance", "drum and bass", "drum & bass", "dnb", "dubstep", "edm", "electro", "electronic", "synthwave",
    "synthpop", "synth-pop", "vaporwave", "chiptune", "8-bit", "ambient", "downtempo", "chillhop", "chillwave",
    "pop", "indie pop", "indie-pop", "indie rock", "indie", "k-pop", "j-pop", "city pop", "rock", "hard rock",
    "punk", "metal", "grunge", "alternative", "folk", "country", "bluegrass", "blues", "jazz", "shoegaze",
    "smooth jazz", "bossa nova", "latin", "reggaeton", "salsa", "reggae", "afrobeat", "afrobeats", "dream pop",
    "gospel", "classical", "orchestral", "cinematic", "epic", "film score", "trailer music", "post-rock",
    "soundtrack", "piano ballad", "ballad", "acoustic", "singer-songwriter", "world", "celtic", "emo",
    "flamenco", "tango", "waltz", "march", "swing", "big band", "corporate", "jingle", "sonic logo",
    "anthem", "lullaby", "christmas", "holiday", "8bit", "retro", "game music", "phonk", "hyperpop",
    "grime", "garage", "uk garage", "jungle", "breakbeat", "idm", "glitch", "industrial", "new wave",
    "post-punk", "darkwave", "witch house", "chillout", "lounge", "bossa", "samba", "cumbia", "bachata",
    "mariachi", "polka", "klezmer", "bhangra", "k-rock", "mandopop", "cantopop", "enka", "trot", "ska",
    "rockabilly", "surf rock", "psychedelic", "psych rock", "prog rock", "progressive", "math rock",
    "emo rap", "cloud rap", "boom-bap", "free jazz", "rock and roll", "rock n roll", "g-funk", "motown", "doo-wop", "musical theatre", "opera",
    "baroque", "chamber music", "minimalism", "new age", "meditation music", "drone", "noise", "dub",
    "dancehall", "soca", "amapiano", "kpop", "jpop", "j-rock", "anime", "gregorian chant", "sea shanty",
    "hardstyle", "eurodance", "italo disco", "future bass", "tropical house", "electro swing", "nu disco",
    "french house", "acid house", "acid jazz", "bebop", "cool jazz", "fusion", "jazz fusion", "funk rock",
)
MOODS = (
    "chill", "relaxed", "relaxing", "calm", "peaceful", "mellow", "laid-back", "laid back", "upbeat",
    "happy", "joyful", "cheerful", "playful", "fun", "bright", "uplifting", "inspiring", "inspirational",
    "hopeful", "energetic", "driving", "powerful", "aggressive", "intense", "dark", "moody",
    "melancholic", "melancholy", "sad", "emotional", "nostalgic", "dreamy", "ethereal", "mysterious",
    "tense", "suspenseful", "heroic", "triumphant", "romantic", "warm", "cozy", "sexy", "groovy",
    "funky", "jazzy", "bluesy", "soulful", "rocky", "poppy", "quirky", "whimsical", "minimal", "minimalist",
    "lush", "elegant", "luxurious", "sophisticated", "confident", "bold", "catchy", "anthemic", "festive",
    "spooky", "gritty", "atmospheric", "modern", "vintage", "futuristic", "organic",
    "trustworthy", "friendly", "serious", "focused", "haunting", "eerie", "brooding", "somber",
    "wistful", "bittersweet", "euphoric", "hypnotic", "raw", "lo-fi", "hazy", "sunny", "summery", "wintry",
    "punchy", "tight", "loose", "smooth", "silky", "fast", "slow", "mid-tempo", "heavy", "light", "soft",
    "loud", "quiet", "gentle", "tender", "fierce", "angry", "epic", "grand", "majestic", "sparse", "dense",
    "warm", "cold", "icy", "lonely", "chilled", "sleepy", "lazy", "bouncy", "jazzy", "sultry", "dramatic",
)
INSTRUMENTS = (
    "electric guitars", "electric guitar", "acoustic guitar", "guitars", "guitar", "bass guitar",
    "synth bass", "808s", "808", "bass", "drums", "drum machine", "percussion", "piano", "rhodes",
    "electric piano", "keys", "organ", "synths", "synth", "pads", "pad", "strings", "string quartet",
    "violin", "cello", "viola", "harp", "orchestra", "brass", "horns", "trumpet", "trombone",
    "saxophone", "sax", "flute", "clarinet", "oboe", "choir", "bells", "glockenspiel", "marimba",
    "vibraphone", "xylophone", "ukulele", "banjo", "mandolin", "accordion", "harmonica", "sitar",
    "koto", "shamisen", "erhu", "guzheng", "taiko", "steel drums", "kalimba", "vinyl crackle", "vinyl",
    "handclaps", "claps", "whistle", "celesta", "music box", "tabla", "djembe", "congas", "bongos",
    "timpani", "french horn", "tuba", "bassoon", "double bass", "upright bass", "moog", "arpeggiator",
    "arpeggios", "tape", "reverb", "delay", "distortion", "fuzz", "sidechain", "sub bass", "kick",
    "snare", "hi-hats", "hihats", "hats", "cowbell", "tambourine", "shaker", "pedal steel", "lap steel",
    "dulcimer", "bagpipes", "pipa", "oud", "bouzouki", "balalaika", "didgeridoo", "theremin", "mellotron",
)
VOCAL_TYPES = (
    "female lead vocal", "male lead vocal", "female vocals", "male vocals", "female vocal",
    "male vocal", "female singer", "male singer", "female voice", "male voice", "duet", "choir",
    "rap", "rapper", "spoken word", "falsetto", "whisper", "harmonies", "backing vocals",
    "gang vocals", "vocals", "vocal", "singer", "voice",
)
# Words that name a scene or use the music is made for: a "for ..." phrase holding one is style.
SCENE_WORDS = ("documentary", "film", "movie", "trailer", "anime", "cartoon", "commute", "office",
    "study", "studying", "sleep", "sleeping", "workout", "gym", "running", "yoga", "meditation", "focus",
    "party", "wedding", "funeral", "birthday", "beach", "summer", "winter", "autumn", "fall", "spring", "night",
    "rain", "rainy", "drive", "driving", "road trip", "cafe", "coffee shop", "dinner", "club", "dance",
    "dancing", "horror", "sci-fi", "fantasy", "chase", "battle", "boss fight", "boss", "racing", "puzzle",
    "platformer", "rpg", "dungeon", "castle", "forest", "space", "ocean", "city", "sunset", "sunrise",
    "morning", "evening", "christmas", "halloween", "holiday", "romance", "love", "heartbreak", "adventure",
    "mystery", "detective", "noir", "western", "kids", "children", "lullaby", "relaxation", "spa", "cooking",
    "travel", "nature", "hiking", "skate", "skateboarding", "surfing", "gaming", "game", "menu", "level",
    "title screen", "credits", "montage", "slow motion", "underwater", "desert", "jungle", "festival",
    "stadium", "arena", "rooftop", "late night", "3am", "midnight", "campfire", "tea", "spooky", "haunted",
)
# Words that carry no style: the request's verbs, determiners and generic nouns.
FILLER = (
    "a", "an", "the", "some", "any", "me", "i", "we", "us", "you", "my", "our", "your", "it", "its", "this",
    "that", "these", "those", "please", "make", "create", "generate", "compose", "produce", "write", "give",
    "get", "need", "needs", "want", "wants", "would", "like", "could", "can", "should", "must", "will",
    "shall", "to", "be", "is", "are", "am", "was", "were", "been", "has", "have", "having", "had", "got", "gotta",
    "do", "does", "i'm", "i'd", "i've", "we're", "we'd", "we'll", "let's", "lets", "help", "something",
    "music", "song", "songs", "track", "tracks", "tune", "tunes", "piece", "pieces", "audio", "composition",
    "thing", "stuff", "one", "ones", "them", "they", "kind", "sort", "type", "of", "for", "feels", "go", "hey", "hi", "okay", "ok", "just", "also", "maybe", "perhaps", "plz",
    "pls", "thanks", "thank", "looking", "after", "new", "brand-new", "fresh", "bit", "little", "here",
    "there", "now", "which", "who", "what", "version", "versions", "take", "takes", "each", "every", "all",
    "total", "long", "length", "duration", "around", "about", "roughly", "approximately", "approx", "max",
    "maximum", "least", "most", "under", "over", "up", "at", "exactly", "than", "less", "only",
)
CONNECTORS = ("with", "and", "as", "plus", "featuring", "feat", "ft", "&", "or", "over", "on", "in", "into",
              "about", "like", "that", "where", "while", "but", "by", "from", "to", "of", "for")
COUNT_NOUNS = ("track", "tracks", "song", "songs", "piece", "pieces", "cue", "cues", "variation",
               "variations", "version", "versions", "loop", "loops", "jingle", "jingles", "take", "takes",
               "bed", "beds", "clip", "clips", "stem", "stems", "theme", "themes", "beat", "beats", "sting",
               "stings", "stinger", "stingers", "option", "options", "idea", "ideas", "instrumentals")
MUSICAL_COUNT_NOUNS = ("loop", "loops", "jingle", "jingles", "cue", "cues", "bed", "beds", "beat", "beats",
                       "sting", "stings", "stinger", "stingers", "theme", "themes", "instrumentals")
PURPOSE_NOUNS = (
    "brand", "branding", "commercial", "ad", "ads", "advert", "advertisement", "campaign", "client",
    "deliverable", "tv spot", "spot", "super bowl", "broadcast", "podcast", "youtube", "channel", "video",
    "vlog", "stream", "streaming", "twitch", "app", "website", "presentation", "company", "bank", "product",
    "launch", "startup", "store", "shop", "business", "agency", "sales pitch", "keynote", "webinar", "course",
    "tiktok", "instagram", "instagram reel", "shorts", "promo", "explainer", "sales", "marketing", "corporate video",
    "linkedin", "conference", "event", "investor", "investors", "demo day", "customers", "audience", "users",
    "library", "catalog", "catalogue", "project", "show", "series", "episode", "ident", "client's", "customer", "boss", "team", "wife", "husband",
    "mom", "dad", "friend", "girlfriend", "boyfriend", "kid", "son", "daughter", "brother", "sister",
)
WORKFLOW_WORDS = ("draft", "drafts", "rough", "demo", "placeholder", "prototype", "mockup", "mock-up", "iterate",
                  "iteration", "final render", "polish", "lock the vibe", "batch", "bulk", "library", "stock",
                  "scratch", "temp", "throwaway", "first", "then", "later", "finally", "before", "once",
                  "quick", "test", "sketch", "=variations", "=variation", "options", "final", "afterwards")

# ---- other languages --------------------------------------------------------------------------------
# Function words that tell a language apart (to pick the glossaries that apply).
MARKERS = {
    "en": ("the", "a", "an", "with", "and", "for", "of", "my", "i", "to", "in", "it", "is", "this", "some",
           "make", "song", "track", "need", "want", "from", "at", "seconds", "minutes", "add", "another", "more",
           "extend", "fix", "redo", "please", "just", "by", "on", "into", "but", "so", "be", "can", "you", "me",
           "our", "we", "your", "one", "two", "ten", "all", "minute", "second", "last", "end", "that", "like"),
    "es": ("una", "un", "el", "la", "los", "las", "con", "para", "y", "de", "del", "que", "canción", "cancion",
           "canciones", "por", "muy", "sin", "mi", "necesito", "quiero", "haz", "hazme", "segundos", "minutos",
           "música", "pista", "pistas", "una", "al", "dame", "crea", "genera", "esta", "este", "en"),
    "de": ("und", "mit", "für", "ein", "eine", "einen", "der", "die", "das", "ich", "nicht", "ohne", "mein",
           "meine", "lied", "song", "sekunden", "minuten", "bitte", "mach", "erstelle", "brauche", "möchte",
           "am", "ende", "im", "den", "dem", "kein", "keine", "einem", "stück", "musik", "auf", "zu", "vom", "bis"),
    "fr": ("une", "un", "avec", "pour", "le", "les", "des", "et", "je", "pas", "sans", "du", "la", "de",
           "chanson", "morceau", "morceaux", "secondes", "minutes", "fais", "fais-moi", "crée", "musique", "mon",
           "ma", "ajoute", "à", "au", "aux", "j'ai", "il", "faut", "veux", "voudrais", "cette", "ce", "besoin"),
    "pt": ("uma", "um", "com", "para", "não", "sem", "os", "as", "da", "do", "e", "de", "canção", "cancao",
           "música", "musica", "faixa", "faixas", "segundos", "minutos", "faça", "faca", "crie", "preciso",
           "quero", "minha", "meu", "no", "na", "essa", "esse", "esta", "este", "até", "ate", "mais"),
}
# Latin-script glossaries, matched on each language's stems. Values are English the rules read.
GLOSS = {
    "es": {
        "barato": "cheap", "barata": "cheap", "baratos": "cheap", "económico": "cheap", "económica": "cheap",
        "bajo coste": "low cost", "bajo costo": "low cost", "presupuesto": "budget", "borrador": "draft",
        "boceto": "sketch", "maqueta": "demo", "lote": "batch", "biblioteca": "library", "librería": "library",
        "bucle": "loop", "en bucle": "loop", "de fondo": "background", "fondo": "background", "gratis": "free",
        "marca": "brand", "comercial": "commercial", "anuncio": "ad", "anuncios": "ads", "publicidad": "advertisement",
        "campaña": "campaign", "cliente": "client", "caro": "expensive", "cara": "expensive", "lujo": "luxury",
        "lujoso": "luxury", "profesional": "professional", "pulido": "polished", "pulida": "polished",
        "alta calidad": "high quality", "la mejor calidad": "best quality", "canción principal": "theme song",
        "tema principal": "theme song", "idiomas": "languages", "idioma": "language", "lenguas": "languages",
        "multilingüe": "multilingual", "bilingüe": "bilingual", "voz": "vocals", "voces": "vocals",
        "vocal": "vocals", "vocales": "vocals", "cantante": "singer", "cantada": "sung", "cantado": "sung",
        "letra": "lyrics", "letras": "lyrics", "sin": "without", "nada": "nothing", "ni": "nor",
        "arregla": "fix", "arreglar": "fix", "arréglame": "fix", "corrige": "fix", "corregir": "fix",
        "rehaz": "redo", "rehacer": "redo", "vuelve a hacer": "redo", "reemplaza": "replace",
        "reemplazar": "replace", "extiende": "extend", "extender": "extend", "alarga": "extend",
        "alargar": "extend", "añade": "add", "añadir": "add", "agrega": "add", "agregar": "add", "añádele": "add",
        "más": "more", "otro": "another", "otra": "another", "introducción": "intro", "al final": "at the end",
        "al principio": "at the start", "al inicio": "at the start", "últimos": "last", "últimas": "last",
        "primeros": "first", "primeras": "first", "canción": "song", "canciones": "songs", "pista": "track",
        "pistas": "tracks", "temas": "tracks", "necesito": "need", "quiero": "want", "tengo": "i have",
        "mi": "my", "este": "this", "esta": "this", "esto": "this", "minutos": "minutes", "minuto": "minute",
        "segundos": "seconds", "segundo": "second", "estribillo": "chorus", "puente": "bridge",
        "estrofa": "verse", "salió mal": "came out wrong", "suena mal": "sounds wrong", "muy": "very",
        "súper": "super", "demasiado": "too", "hazme": "make me", "haz": "make", "crea": "create",
        "genera": "generate", "dame": "give me", "para": "for", "con": "with", "y": "and", "que dure": "lasting",
        "de duración": "long", "versiones": "versions", "variaciones": "variations", "muchas": "many",
        "muchos": "many", "entre": "between", "desde": "from", "hasta": "to", "ahora": "now", "rápido": "quick",
        "prueba": "test", "juego": "game", "videojuego": "video game", "dura": "lasts", "durar": "last",
        "convierte": "turn", "convertir": "turn", "en una": "into a", "en un": "into a", "sea": "be",
        "total": "total", "español": "spanish", "inglés": "english", "alemán": "german", "francés": "french",
        "portugués": "portuguese", "chino": "chinese", "japonés": "japanese", "coreano": "korean",
        "italiano": "italian", "ruso": "russian", "instrumental": "instrumental", "repite": "redo",
        "ultra": "ultra", "nuevo": "new", "un": "a", "una": "a", "a": "to", "de": "of",
        "y medio": "and a half", "y media": "and a half", "medio minuto": "half a minute", "unos": "some", "nueva": "new", "parte": "part", "sección": "section", "luego": "then", "después": "then", "primero": "first",
        "versión": "version", "el": "the", "la": "the", "los": "the", "las": "the", "por": "by",
        "arréglalo": "fix it", "arréglala": "fix it", "corrígelo": "fix it", "rehazlo": "redo it", "gancho": "hook",
    },
    "de": {
        "billig": "cheap", "günstig": "cheap", "preiswert": "cheap", "kostengünstig": "cheap", "budget": "budget",
        "entwurf": "draft", "skizze": "sketch", "rohfassung": "draft", "stapel": "batch", "bibliothek": "library",
        "schleife": "loop", "hintergrundmusik": "background music", "hintergrund": "background",
        "kostenlos": "free", "gratis": "free", "marke": "brand", "werbung": "advertisement", "werbespot": "ad",
        "werbeclip": "ad", "kampagne": "campaign", "kunde": "client", "kunden": "client", "teuer": "expensive",
        "hochwertig": "high-end", "edel": "luxury", "luxuriös": "luxury", "professionell": "professional",
        "poliert": "polished", "radiotauglich": "radio-ready", "titelsong": "theme song", "titelmusik": "theme song",
        "sprachen": "languages", "sprache": "language", "mehrsprachig": "multilingual", "zweisprachig": "bilingual",
        "gesang": "vocals", "stimme": "voice", "sänger": "singer", "sängerin": "singer", "songtext": "lyrics",
        "liedtext": "lyrics", "ohne": "without", "kein": "no", "keine": "no", "keinen": "no", "keinem": "no",
        "nicht": "not", "nichts": "nothing", "repariere": "fix", "korrigiere": "fix", "behebe": "fix",
        "reparieren": "fix", "korrigieren": "fix", "neu machen": "redo", "wiederhole": "redo", "ersetze": "replace",
        "ersetzen": "replace", "verlängere": "extend", "verlängern": "extend", "füge": "add", "hinzu": "",
        "hinzufügen": "add", "hänge": "append", "an": "", "noch": "another", "weitere": "more", "weiteres": "more",
        "zusätzliche": "extra", "am ende": "at the end", "am anfang": "at the start", "am schluss": "at the end",
        "letzten": "last", "ersten": "first", "lied": "song", "lieder": "songs", "stück": "track",
        "stücke": "tracks", "brauche": "need", "möchte": "want", "will": "want", "habe": "have", "ich": "i",
        "mein": "my", "meine": "my", "meinen": "my", "dieses": "this", "diesen": "this", "dieser": "this",
        "minuten": "minutes", "minute": "minute", "sekunden": "seconds", "sekunde": "second", "refrain": "chorus",
        "strophe": "verse", "brücke": "bridge", "zweiten": "second", "ist schiefgegangen": "came out wrong",
        "klingt falsch": "sounds wrong", "klingt schlecht": "sounds bad", "sehr": "very", "extrem": "extremely",
        "zu": "too", "mach": "make", "mache": "make", "erstelle": "create", "erzeuge": "generate", "gib": "give",
        "mir": "me", "für": "for", "mit": "with", "und": "and", "lang": "long", "versionen": "versions",
        "varianten": "variations", "viele": "many", "zwischen": "between", "von": "from", "bis": "to",
        "schnell": "quick", "test": "test", "spiel": "game", "videospiel": "video game", "mach daraus": "turn it into",
        "daraus": "it into", "auf": "to", "insgesamt": "total", "deutsch": "german", "englisch": "english",
        "spanisch": "spanish", "französisch": "french", "portugiesisch": "portuguese", "chinesisch": "chinese",
        "japanisch": "japanese", "koreanisch": "korean", "italienisch": "italian", "russisch": "russian",
        "instrumental": "instrumental", "teil": "part", "dann": "then", "zuerst": "first", "danach": "then", "um": "by", "den": "the", "das": "the",
        "die": "the", "der": "the", "ein": "a", "eine": "a", "einen": "a", "einem": "a", "einer": "a",
        "eineinhalb": "1.5", "anderthalb": "1.5", "eine halbe minute": "half a minute", "abschnitt": "section", "ende": "end", "outro": "outro",
    },
    "fr": {
        "pas cher": "cheap", "pas chère": "cheap", "bon marché": "cheap", "économique": "cheap", "budget": "budget",
        "brouillon": "draft", "ébauche": "draft", "maquette": "demo", "lot": "batch", "bibliothèque": "library",
        "boucle": "loop", "en boucle": "loop", "de fond": "background", "d'ambiance": "background",
        "gratuit": "free", "gratuite": "free", "marque": "brand", "publicité": "advertisement", "pub": "ad",
        "spot publicitaire": "ad", "campagne": "campaign", "client": "client", "cliente": "client",
        "cher": "expensive", "chère": "expensive", "coûteux": "expensive", "luxe": "luxury", "luxueux": "luxury",
        "professionnel": "professional", "professionnelle": "professional", "haut de gamme": "high-end",
        "soigné": "polished", "soignée": "polished", "chanson thème": "theme song", "générique": "theme song",
        "langues": "languages", "langue": "language", "multilingue": "multilingual", "bilingue": "bilingual",
        "voix": "vocals", "chant": "vocals", "chanteur": "singer", "chanteuse": "singer", "paroles": "lyrics",
        "chantée": "sung", "chanté": "sung", "sans": "without", "pas de": "no", "aucun": "no", "aucune": "no",
        "rien de": "nothing", "ne": "", "pas": "not", "répare": "fix", "réparer": "fix", "corrige": "fix",
        "corriger": "fix", "refais": "redo", "refaire": "redo", "remplace": "replace", "remplacer": "replace",
        "rallonge": "extend", "rallonger": "extend", "allonge": "extend", "allonger": "extend",
        "prolonge": "extend", "prolonger": "extend", "ajoute": "add", "ajouter": "add", "encore": "another",
        "de plus": "more", "supplémentaires": "extra", "à la fin": "at the end", "au début": "at the start",
        "dernières": "last", "derniers": "last", "premières": "first", "premiers": "first",
        "chanson": "song", "chansons": "songs", "morceau": "track", "morceaux": "tracks", "titres": "tracks",
        "j'ai besoin": "i need", "besoin": "need", "il me faut": "i need", "veux": "want", "voudrais": "want",
        "j'ai": "i have", "mon": "my", "ma": "my", "mes": "my", "ce": "this", "cette": "this", "cet": "this",
        "minutes": "minutes", "secondes": "seconds", "seconde": "second", "refrain": "chorus", "couplet": "verse",
        "pont": "bridge", "deuxième": "second", "est raté": "came out wrong", "sonne faux": "sounds wrong",
        "très": "very", "trop": "too", "fais": "make", "fais-moi": "make me", "crée": "create", "génère": "generate",
        "donne-moi": "give me", "pour": "for", "avec": "with", "et": "and", "durée": "duration",
        "variations": "variations", "beaucoup": "many", "entre": "between", "depuis": "from", "jusqu'à": "to",
        "rapide": "quick", "test": "test", "jeu": "game", "jeu vidéo": "video game", "transforme": "turn",
        "en un": "into a", "en une": "into a", "au total": "total", "français": "french", "anglais": "english",
        "espagnol": "spanish", "allemand": "german", "portugais": "portuguese", "chinois": "chinese",
        "japonais": "japanese", "coréen": "korean", "italien": "italian", "russe": "russian", "partie": "part", "puis": "then", "ensuite": "then", "d'abord": "first", "le": "the", "les": "the",
        "la": "the", "l'": "the", "un": "a", "une": "a", "de": "of", "à": "to", "d'une": "of a",
        "et demie": "and a half", "et demi": "and a half", "une demi-minute": "half a minute",
        "instrumentale": "instrumental", "instrumental": "instrumental", "fin": "end",
    },
    "pt": {
        "barato": "cheap", "barata": "cheap", "econômico": "cheap", "econômica": "cheap", "orçamento": "budget",
        "rascunho": "draft", "esboço": "sketch", "maquete": "demo", "lote": "batch", "biblioteca": "library",
        "em loop": "loop", "de fundo": "background", "fundo": "background", "grátis": "free", "gratuito": "free",
        "marca": "brand", "comercial": "commercial", "anúncio": "ad", "propaganda": "advertisement",
        "publicidade": "advertisement", "campanha": "campaign", "cliente": "client", "caro": "expensive",
        "cara": "expensive", "luxo": "luxury", "luxuoso": "luxury", "profissional": "professional",
        "polido": "polished", "polida": "polished", "alta qualidade": "high quality", "tema principal": "theme song",
        "idiomas": "languages", "idioma": "language", "línguas": "languages", "multilíngue": "multilingual",
        "bilíngue": "bilingual", "voz": "vocals", "vozes": "vocals", "vocal": "vocals", "vocais": "vocals",
        "cantor": "singer", "cantora": "singer", "cantada": "sung", "letra": "lyrics", "sem": "without",
        "não": "not", "nada": "nothing", "nenhum": "no", "nenhuma": "no", "conserta": "fix", "consertar": "fix",
        "corrige": "fix", "corrija": "fix", "corrigir": "fix", "arruma": "fix", "refaz": "redo", "refaça": "redo",
        "refazer": "redo", "substitui": "replace", "substitua": "replace", "estende": "extend", "estenda": "extend",
        "estender": "extend", "alonga": "extend", "alongue": "extend", "prolonga": "extend", "prolongue": "extend",
        "adiciona": "add", "adicione": "add", "adicionar": "add", "acrescenta": "add", "acrescente": "add",
        "mais": "more", "outro": "another", "outra": "another", "introdução": "intro", "no final": "at the end",
        "no fim": "at the end", "no início": "at the start", "no começo": "at the start", "últimos": "last",
        "últimas": "last", "primeiros": "first", "primeiras": "first", "canção": "song", "canções": "songs",
        "música": "song", "músicas": "songs", "faixa": "track", "faixas": "tracks", "preciso": "need",
        "quero": "want", "tenho": "i have", "meu": "my", "minha": "my", "este": "this", "esta": "this",
        "esse": "this", "essa": "this", "minutos": "minutes", "minuto": "minute", "segundos": "seconds",
        "segundo": "second", "refrão": "chorus", "ponte": "bridge", "estrofe": "verse", "saiu errado": "came out wrong",
        "soa mal": "sounds wrong", "muito": "very", "super": "super", "demais": "too", "faça": "make",
        "crie": "create", "gere": "generate", "me dê": "give me", "para": "for", "com": "with", "e": "and",
        "de duração": "long", "versões": "versions", "variações": "variations", "muitas": "many", "muitos": "many",
        "entre": "between", "desde": "from", "até": "to", "rápido": "quick", "teste": "test", "jogo": "game",
        "videogame": "video game", "transforme": "turn", "em uma": "into a", "em um": "into a", "no total": "total",
        "português": "portuguese", "inglês": "english", "espanhol": "spanish", "alemão": "german",
        "francês": "french", "chinês": "chinese", "japonês": "japanese", "coreano": "korean",
        "italiano": "italian", "russo": "russian", "instrumental": "instrumental", "parte": "part", "fim": "end", "depois": "then", "primeiro": "first", "em seguida": "then", "por": "by",
        "o": "the", "os": "the", "a": "the", "as": "the", "refrão de": "chorus of", "um": "a", "uma": "a", "de": "of",
        "e meio": "and a half", "e meia": "and a half", "meio minuto": "half a minute",
    },
}
# Chinese, Japanese and Korean: substrings (longest first), glossed the same way. "NEG_POST" marks
# a negation written after the word it negates (ボーカルなし, 보컬 없이).
CJK_GLOSS = {
    # Chinese
    "便宜": "cheap", "廉价": "cheap", "低成本": "low cost", "省钱": "cheap", "预算": "budget", "草稿": "draft",
    "小样": "demo", "样带": "demo", "批量": "batch", "曲库": "library", "音乐库": "library", "循环": "loop",
    "背景音乐": "background music", "背景": "background", "免费": "free", "品牌": "brand", "商业": "commercial",
    "广告": "ad", "宣传片": "promo", "客户": "client", "高端": "high-end", "高级": "premium", "昂贵": "expensive",
    "贵": "expensive", "奢华": "luxury", "专业": "professional", "精致": "polished", "精良": "polished",
    "电台级": "radio-ready", "主题曲": "theme song", "多语言": "multilingual", "双语": "bilingual",
    "种语言": "languages", "语言": "languages", "人声": "vocals", "演唱": "singing", "歌手": "singer",
    "歌词": "lyrics", "说唱": "rap", "合唱": "choir", "女声": "female vocals", "男声": "male vocals",
    "纯音乐": "instrumental", "器乐": "instrumental", "伴奏": "backing track", "不要": "no", "不用": "no",
    "没有": "no", "不": "not", "无": "no", "别": "no", "修复": "fix", "修改": "fix", "修一下": "fix", "修": "fix",
    "重做": "redo", "重新生成": "regenerate", "替换": "replace", "延长": "extend", "加长": "lengthen",
    "续写": "continue", "添加": "add", "加上": "add", "加": "add", "再": "another", "前奏": "intro", "尾奏": "outro",
    "结尾": "ending", "开头": "beginning", "最后": "the last", "最後": "the last", "副歌": "chorus", "主歌": "verse",
    "桥段": "bridge", "第二段": "second", "第二": "second", "首歌": "tracks", "歌曲": "song", "首": "tracks",
    "曲子": "track", "音乐": "music", "我需要": "i need", "需要": "need", "我有": "i have", "想要": "want",
    "一个": "a", "这首": "this", "这段": "this", "我的": "my", "秒钟": "seconds", "秒": "seconds",
    "分钟": "minutes", "小时": "hours", "做": "make", "生成": "generate", "制作": "make", "创作": "compose",
    "写": "write", "给我": "give me", "帮我": "help me", "的": "", "和": "and", "与": "and", "带": "with",
    "带有": "with", "配": "with", "中文": "chinese", "汉语": "chinese", "普通话": "mandarin", "粤语": "cantonese",
    "英语": "english", "英文": "english", "西班牙语": "spanish", "日语": "japanese", "日文": "japanese",
    "韩语": "korean", "韩文": "korean", "德语": "german", "法语": "french", "葡萄牙语": "portuguese",
    "意大利语": "italian", "俄语": "russian", "非常": "very", "很": "very", "超级": "super", "太": "too",
    "特别": "very", "从": "from", "到": "to", "至": "to", "之间": "", "部分": "part", "出错": "came out wrong",
    "不对": "sounds wrong", "有问题": "sounds wrong", "变成": "turn it into", "个版本": "versions",
    "版本": "versions", "游戏": "game", "视频": "video", "长": "long", "总共": "total", "多": "more",
    "一首": "a", "首先": "first", "然后": "then", "最终": "final", "润色": "polish", "精修": "polish",
    "多首": "many tracks", "很多": "many", "大量": "bulk", "先": "first", "同一首歌": "the same song",
    "做成": "make", "舞曲": "dance music", "钢琴曲": "piano piece", "在": "", "一段": "a",
    # Japanese
    "安い": "cheap", "安く": "cheap", "安価": "cheap", "格安": "cheap", "低コスト": "low cost", "予算": "budget",
    "下書き": "draft", "ラフ": "rough", "デモ": "demo", "試作": "prototype", "バッチ": "batch",
    "ライブラリ": "library", "ループ": "loop", "無料": "free", "ブランド": "brand", "ＣＭ": "commercial",
    "コマーシャル": "commercial", "キャンペーン": "campaign", "クライアント": "client", "高級": "luxury",
    "高品質": "high quality", "プレミアム": "premium", "プロ": "professional", "主題歌": "theme song",
    "テーマソング": "theme song", "多言語": "multilingual", "言語": "languages", "ボーカル": "vocals",
    "歌声": "vocals", "歌詞": "lyrics", "ラップ": "rap", "女性": "female", "男性": "male",
    "インストゥルメンタル": "instrumental", "インスト": "instrumental", "なし": "NEG_POST", "無し": "NEG_POST",
    "抜き": "NEG_POST", "じゃない": "NEG_POST", "ではない": "NEG_POST", "高くない": "not expensive",
    "修正": "fix", "直して": "fix", "直す": "fix", "やり直し": "redo", "作り直し": "redo", "作り直して": "redo",
    "差し替え": "replace", "延長": "extend", "延ばして": "extend", "伸ばして": "extend", "追加": "add",
    "足して": "add", "イントロ": "intro", "アウトロ": "outro", "最後の": "the last", "最初の": "the first",
    "末尾に": "at the end", "最後に": "at the end", "冒頭に": "at the start", "サビ": "chorus", "Ａメロ": "verse",
    "ブリッジ": "bridge", "2番目の": "second", "二番目の": "second", "2回目の": "second", "曲": "song",
    "作って": "make", "ください": "please", "欲しい": "want", "ほしい": "want", "必要": "need", "あります": "have",
    "とても": "very", "すごく": "very", "めっちゃ": "very", "から": "to_from", "まで": "to_until", "の": "",
    "を": "", "で": "", "に": "", "と": "and", "が": "", "は": "", "日本語": "japanese", "中国語": "chinese",
    "韓国語": "korean", "英語": "english", "スペイン語": "spanish", "ドイツ語": "german", "フランス語": "french",
    "ポルトガル語": "portuguese", "ゲーム": "game", "動画": "video", "おかしい": "sounds wrong",
    "変": "sounds wrong", "ダメ": "is bad", "にして": "make it", "本": "tracks", "つの": "", "フック": "hook",
    # Korean
    "저렴한": "cheap", "저렴하게": "cheap", "저렴": "cheap", "싼": "cheap", "싸게": "cheap", "저예산": "low budget",
    "예산": "budget", "초안": "draft", "데모": "demo", "대량": "bulk", "배치": "batch", "라이브러리": "library",
    "루프": "loop", "배경음악": "background music", "배경": "background", "무료": "free", "브랜드": "brand",
    "광고": "ad", "캠페인": "campaign", "클라이언트": "client", "고급": "premium", "프리미엄": "premium",
    "고급스러운": "luxury", "비싼": "expensive", "전문적인": "professional", "주제가": "theme song",
    "다국어": "multilingual", "언어": "languages", "보컬": "vocals", "가수": "singer", "가사": "lyrics",
    "랩": "rap", "여성": "female", "남성": "male", "연주곡": "instrumental", "인스트": "instrumental",
    "없이": "NEG_POST", "없는": "NEG_POST", "말고": "NEG_POST", "안": "not", "고쳐": "fix", "수정": "fix",
    "다시": "redo", "교체": "replace", "늘려": "extend", "연장": "extend", "추가": "add", "인트로": "intro",
    "아웃트로": "outro", "마지막": "the last", "처음": "the first", "끝에": "at the end", "앞에": "at the start",
    "부터": "to_from", "까지": "to_until", "후렴": "chorus", "벌스": "verse", "브릿지": "bridge",
    "두번째": "second", "노래": "song", "곡": "tracks", "초": "seconds", "분": "minutes", "한국어": "korean",
    "영어": "english", "스페인어": "spanish", "일본어": "japanese", "중국어": "chinese", "독일어": "german",
    "프랑스어": "french", "포르투갈어": "portuguese", "만들어": "make", "주세요": "please", "줘": "please",
    "필요해": "need", "필요": "need", "있어": "have", "있는데": "have", "아주": "very", "매우": "very",
    "정말": "really", "너무": "too", "게임": "game", "영상": "video", "이상해": "sounds wrong",
    "잘못": "came out wrong", "개": "tracks", "짜리": "long", "훅": "hook", "버전": "versions", "으로": "", "를": "", "을": "", "의": "",
}
# "分" is minutes only after a number ("2分", "1分30秒"); elsewhere it is part of a word.
CJK_NUMERAL_UNITS = {"分": "minutes", "秒": "seconds", "초": "seconds", "분": "minutes", "首": "tracks",
                     "곡": "tracks", "个": "", "種": "", "种": "", "本": "tracks", "개": "tracks"}

NUMBER_WORDS_FOREIGN = {
    "es": {"uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
           "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15, "veinte": 20,
           "veinticinco": 25, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "noventa": 90,
           "cien": 100},
    "de": {"eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
           "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "zwölf": 12, "fünfzehn": 15, "zwanzig": 20,
           "dreißig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60, "neunzig": 90, "hundert": 100},
    "fr": {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
           "neuf": 9, "dix": 10, "douze": 12, "quinze": 15, "vingt": 20, "trente": 30, "quarante": 40,
           "cinquante": 50, "soixante": 60, "cent": 100},
    "pt": {"dois": 2, "duas": 2, "três": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7,
           "oito": 8, "nove": 9, "dez": 10, "doze": 12, "quinze": 15, "vinte": 20, "trinta": 30,
           "quarenta": 40, "cinquenta": 50, "sessenta": 60, "noventa": 90, "cem": 100},
}
CJK_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9, "十": 10, "百": 100, "半": 0.5}
KO_NUMBERS = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10,
              "스무": 20, "서른": 30, "마흔": 40, "쉰": 50, "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6,
              "칠": 7, "팔": 8, "구": 9, "십": 10, "백": 100}

# Money and budget words: logistics, never style ("must sound expensive" is style: a sound word).
PRICE_WORDS = (
    "cheap", "cheaply", "cheapest", "cheaper", "inexpensive", "affordable", "low cost", "low-cost", "budget",
    "budget-friendly", "economical", "cost-effective", "cost effective", "frugal", "shoestring", "for pennies",
    "pennies", "penny", "dirt cheap", "cheapo", "expensive", "premium", "pricey", "costly", "money is no object",
    "whatever it costs", "spare no expense", "cost is no issue", "no budget limit", "free", "royalty-free",
    "royalty free", "under a dollar", "lowest cost", "minimal cost", "keep costs down", "keep it cheap",
    "save money", "as cheap as possible", "on a budget", "low budget", "price", "cost", "costs", "money",
    "dollar", "dollars", "bucks", "cents", "cent", "euro", "euros", "usd", "eur", "spend", "pay",
    "high-end", "high end", "luxury budget", "tight budget",
)
PRODUCTION_SOUND_VERBS = ("sound", "sounds", "sounding", "feel", "feels", "feeling", "look")
LENGTH_UNITS = ("s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes", "ms", "h",
                "hr", "hrs", "hour", "hours", "'", '"', "bars", "bar", "measures")
NUMBER_WORDS_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                   "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
                   "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
                   "dozen", "half", "couple", "few", "several", "hundreds", "dozens", "thousand")
LENGTH_WORDS = ("long", "short", "each", "total", "in total", "max", "maximum", "in length", "length",
                "duration", "apiece", "a piece", "per track", "tops", "or so", "ish", "-ish")
WINDOW_WORDS = ("from", "between", "to", "until", "till", "through", "thru", "and", "the", "last", "first",
                "final", "opening", "closing", "mark", "at", "around", "near", "in", "of", "starting",
                "start", "end", "ending", "beginning", "onwards", "on", "after", "before", "up", "timestamp")
SOURCE_MARKERS = ("this", "my", "our", "the", "that", "have", "got", "existing", "current")
