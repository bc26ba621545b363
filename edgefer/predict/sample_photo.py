"""`edgefer predict sample`: a phone-sized group photo made from the real portraits the package ships.

A new user's first command should need no photo of their own and show what a real one gives: several faces,
boxes in a 4000x3000 photo's own pixels, numbered left to right. The six London Set portraits in
edgefer/assets/photos (three people, neutral and smiling; CC BY 4.0, see the assets README) are pasted at different
sizes onto a plain background and saved as a JPEG, as a phone would. `SAMPLE_FACES` says which expression each face
shows, left to right, for the tests.
"""

from __future__ import annotations

from pathlib import Path

from edgefer.core.fileio import atomic_path

PHOTOS = Path(__file__).resolve().parents[1] / "assets" / "photos"
SAMPLE = "sample"
SIZE = (4000, 3000)  # a 12-megapixel phone photo, landscape
# (portrait file, its square's x, y and side in the photo), left to right.
LAYOUT = (("013_happy.jpg", 250, 1150, 700), ("064_neutral.jpg", 1000, 650, 560), ("129_happy.jpg", 1650, 1300, 820),
          ("013_neutral.jpg", 2550, 700, 480), ("064_happy.jpg", 3120, 1250, 640))
SAMPLE_FACES = tuple("Happy" if "happy" in name else "Neutral" for name, *_ in LAYOUT)


def write_group_photo(path: Path) -> Path:
    """The sample group photo as a JPEG at `path` (written whole or not at all)."""
    from PIL import Image

    canvas = Image.new("RGB", (SIZE[0] // 10, SIZE[1] // 10), (118, 128, 122)).resize(SIZE)
    for name, x, y, side in LAYOUT:
        with Image.open(PHOTOS / name) as portrait:
            canvas.paste(portrait.convert("RGB").resize((side, side), Image.Resampling.LANCZOS), (x, y))
    with atomic_path(Path(path)) as tmp:
        canvas.save(tmp, format="JPEG", quality=90)
    return Path(path)
