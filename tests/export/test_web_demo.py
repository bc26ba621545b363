"""examples/web: the static page runs a packaged model in headless Chromium with MediaPipe Tasks for Web (installed
from the npm registry at test time, as its README says) and shows the label the device predictor gives.

The page POSTs its result to the test's own server on 127.0.0.1 (`&report=/result`). Skips where Debian's chromium or
npm is absent, or the npm registry cannot be reached."""

import json
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from edgefer.data.sample import SAMPLE_PATH
from edgefer.predictor import BLAZEFACE_FILE, EmotionPredictor, packaged_model_path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Page(SimpleHTTPRequestHandler):
    """Serves the page's folder; POST /result hands the page's answer to the test."""

    results: list = []
    received = threading.Event()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).results.append(json.loads(body))
        type(self).received.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if CHROMIUM is None or shutil.which("npm") is None:
        pytest.skip("needs Debian's chromium and npm (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("web")
    for name in ("index.html", "app.js", "package.json"):
        shutil.copy(REPO / "examples" / "web" / name, folder / name)
    installed = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=folder, capture_output=True,
                               text=True, timeout=600)
    if installed.returncode != 0:
        pytest.skip(f"npm install failed (no registry here?): {installed.stderr.strip()[-300:]}")
    shutil.copy(packaged_model_path("default"), folder / "model.tflite")
    shutil.copy(SAMPLE_PATH.parent / BLAZEFACE_FILE, folder / "face_detector.tflite")
    shutil.copy(SAMPLE_PATH.parent / "astronaut.jpg", folder / "photo.jpg")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Page, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_page_shows_the_label_the_predictor_gives(page, tmp_path):
    _Page.results.clear()
    _Page.received.clear()
    browser = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                                f"{page}/index.html?image=photo.jpg&report=/result"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _Page.received.wait(timeout=180), "the page reported nothing within 180 s"
    finally:
        browser.terminate()
        browser.wait(timeout=30)
    result = _Page.results[0]
    assert "error" not in result, result
    found = result["faces"]
    expected = EmotionPredictor().predict_frame(SAMPLE_PATH.parent / "astronaut.jpg")
    assert [f["label"] for f in found] == [r.label for r in expected]  # labels by name, from the model's metadata
    (x, y, w, h), (ex, ey, ew, eh) = found[0]["box"], expected[0].box
    assert abs(x - ex) <= 8 and abs(y - ey) <= 8 and abs(w - ew) <= 10 and abs(h - eh) <= 10
    assert abs(found[0]["score"] - expected[0].probability) < 0.05
