"""The studio page end to end in real headless Chromium (Debian's, driven by Playwright): type a
request, generate on the offline engine, see the waveform, play, select a region, inpaint, A/B,
finish, download and decode the file; bad input shows a clear message. Screenshots of each main
view are checked for content (non-blank waveform pixels, expected text)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect, sync_playwright

from studio_server import studio_process

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("AIMUSIC_STUDIO_SHOTS", "")) if os.environ.get("AIMUSIC_STUDIO_SHOTS") else None


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--autoplay-policy=no-user-gesture-required", "--mute-audio"])
        yield browser
        browser.close()


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = (SHOTS or tmp_path) / f"studio-{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a blank page compresses to far less
    return path


def _wave_pixels(page) -> int:
    """How many waveform-coloured pixels the canvas holds (blue A or orange B)."""
    return page.evaluate("""() => {
        const c = document.getElementById('wave');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
            const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
            if ((b > 200 && r < 120) || (r > 200 && g > 130 && b < 120)) n++;
        }
        return n;
    }""")


def _current(page) -> dict:
    return page.evaluate("() => window.studio.current")


def _wait_new_take(page, old_id: str, timeout: float = 240_000) -> dict:
    page.wait_for_function("(old) => window.studio.current && window.studio.current.id !== old && !window.studio.job",
                           arg=old_id, timeout=timeout)
    return _current(page)


def test_create_listen_fix_compare_finish_download(browser, tmp_path):
    out = tmp_path / "out"
    with studio_process(out) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        messages: list[str] = []
        page.on("console", lambda m: messages.append(m.text) if m.type == "error" else None)
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")

        # create: the plan shows live as the request is typed
        page.fill("#request", "lofi piano, 90 BPM, warm")
        page.select_option("#provider", "sketch")
        page.fill("#duration", "6")
        expect(page.locator("#plan-model")).to_have_text("local/sketch/text-to-audio", timeout=30_000)
        expect(page.locator("#plan-price")).to_have_text("free")
        expect(page.locator("#plan-reasons li").first).to_be_visible()
        create_shot = _shot(page, tmp_path, "create")

        # generate: progress, then the take opens with its waveform and measurements
        page.click("#generate")
        page.wait_for_function("() => window.studio.current && !window.studio.job", timeout=240_000)
        first = _current(page)
        assert first["task"] == "generate" and first["provider"] == "sketch"
        page.wait_for_function("() => document.getElementById('stat-tempo').textContent.includes('BPM')",
                               timeout=240_000)
        assert _wave_pixels(page) > 2000
        expect(page.locator("#stat-lufs")).to_contain_text("LUFS")
        expect(page.locator("#stat-key")).not_to_have_text("…")

        # play: the playhead moves
        page.click("#play")
        page.wait_for_function("() => window.studio.playing && window.studio.ctx.currentTime - window.studio.startedAt > 0.3",
                               timeout=20_000)
        page.click("#play")  # pause
        assert not page.evaluate("() => window.studio.playing")

        # select a region by dragging: both ends snap to beats from the analysis
        box = page.locator("#wave").bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.22, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=5)
        page.mouse.move(box["x"] + box["width"] * 0.56, y, steps=5)
        page.mouse.up()
        region = page.evaluate("() => window.studio.region")
        beats = page.evaluate("(id) => window.studio.analysis.get(id).beats_s", first["id"])
        assert region and region[1] - region[0] > 0.5
        for edge in region:
            assert min(abs(edge - b) for b in [0.0, *beats]) < 1e-6, (edge, beats)
        editor_shot = _shot(page, tmp_path, "editor")

        # replace this (inpaint): the new take opens next to its parent, compared against it
        page.click("#act-inpaint")
        fixed = _wait_new_take(page, first["id"])
        assert fixed["task"] == "inpaint" and fixed["parent_id"] == first["id"]
        assert page.evaluate("() => window.studio.other.id") == first["id"]
        child = page.locator(f"#takes li[data-id='{fixed['id']}']")
        expect(child).to_have_class("child active")
        page.wait_for_function("() => window.studio.peaks.size >= 2")

        # A/B keeps the playhead: switching mid-play continues at the same position
        page.click("#play")
        page.wait_for_function("() => window.studio.playing && window.studio.ctx.currentTime - window.studio.startedAt > 0.8",
                               timeout=20_000)
        before = page.evaluate("() => window.studio.ctx.currentTime - window.studio.startedAt")
        page.click("#ab-b")
        page.wait_for_function("() => window.studio.active === 'b' && window.studio.playing")
        after = page.evaluate("() => window.studio.ctx.currentTime - window.studio.startedAt")
        assert before <= after < before + 0.6, (before, after)
        expect(page.locator("#clock")).to_contain_text("(B)")
        assert _wave_pixels(page) > 2000
        ab_shot = _shot(page, tmp_path, "compare")
        page.click("#ab-a")
        page.click("#play")

        # finish and export: broadcast loudness, flac; then download it and decode it
        page.select_option("#fin-preset", "broadcast")
        page.fill("#fin-out", "1.5")
        page.select_option("#fin-format", "flac")
        page.click("#finish")
        finished = _wait_new_take(page, fixed["id"])
        assert finished["name"].endswith(".flac") and finished["parent_id"] == fixed["id"]
        with page.expect_download() as info:
            page.click("#download")
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        samples, rate = sf.read(saved, always_2d=True)
        assert rate == 44100 and abs(samples.shape[0] / rate - 6.0) < 0.05
        import pyloudnorm

        assert abs(pyloudnorm.Meter(rate).integrated_loudness(samples) - (-23.0)) < 0.5
        assert np.abs(samples[-200:]).max() < np.abs(samples).max() * 0.05  # the fade-out ends near silence

        # the library: searchable, lineage shown
        page.click("nav button[data-view=library]")
        rows = "() => document.querySelectorAll('#lib-table tbody tr').length"
        page.fill("#lib-q", "sketch")
        page.wait_for_function(f"() => ({rows})() === 3")
        expect(page.locator("#lib-table tbody")).to_contain_text("inpaint")
        expect(page.locator("#lib-table tbody")).to_contain_text("finish")
        expect(page.locator("#lib-table tbody")).to_contain_text("warm")
        page.fill("#lib-q", "warm")
        page.wait_for_function(f"() => ({rows})() === 1")
        page.select_option("#lib-provider", "elevenlabs")
        expect(page.locator("#lib-table tbody")).to_contain_text("nothing matches")
        page.select_option("#lib-provider", index=0)
        page.fill("#lib-q", "")
        page.wait_for_function(f"() => ({rows})() === 3")
        library_shot = _shot(page, tmp_path, "library")

        # bad input: a file that is not audio, a region outside the track, an unknown job id
        notes = tmp_path / "notes.wav"
        notes.write_text("these are my notes, not audio")
        page.set_input_files("#upload", str(notes))
        expect(page.locator("#message")).to_contain_text("not an audio file")
        page.click("nav button[data-view=create]")
        page.locator(f"#takes li[data-id='{first['id']}']").click()
        page.wait_for_function("(id) => window.studio.current.id === id", arg=first["id"])
        page.fill("#region-start", "20")
        page.fill("#region-end", "30")
        page.locator("#region-end").dispatch_event("change")
        page.click("#act-inpaint")
        expect(page.locator("#message")).to_contain_text("outside the 6.00 s track")
        page.evaluate("() => followJob({id: 'no-such-job', kind: 'generate'})")
        expect(page.locator("#message")).to_contain_text("no job with id 'no-such-job'")
        page.close()
        assert not [m for m in messages if "Content Security Policy" in m], messages
    for shot in (create_shot, editor_shot, ab_shot, library_shot):
        assert shot.exists()


def test_missing_token_is_a_clear_message(browser, tmp_path):
    with studio_process(tmp_path / "out", "--token") as url:
        assert "?token=" in url
        bare = url.split("?", 1)[0]
        page = browser.new_page()
        response = page.goto(bare)
        assert response.status == 401
        expect(page.locator("#message")).to_contain_text("needs its access token")
        page.goto(url)  # the token URL sets the cookie and drops the token from the address
        page.wait_for_selector("body[data-ready=true]")
        assert "token=" not in page.url
        expect(page.locator("#version")).to_contain_text("aimusic")
        page.close()
