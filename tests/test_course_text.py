"""What the course tells the learner points only at pages the learner has."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOREIGN = re.compile(r"\bseed 00\d|\bseed(?: plan| 계획|의)|\bFINDINGS\b")


def _course_texts():
    for path in [*ROOT.glob("lib/**/*.py"), *ROOT.glob("lib/**/*.yaml"), ROOT / "README.md", *ROOT.glob("docs/*.md")]:
        yield path, path.read_text(encoding="utf-8")
    for path in ROOT.glob("notebooks/*.ipynb"):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        yield path, "\n".join("".join(c["source"]) for c in cells)


def test_no_citation_of_documents_the_learner_does_not_have():
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p, text in _course_texts() for m in FOREIGN.finditer(text)]
    assert not hits, hits


def test_relative_links_in_the_course_pages_resolve():
    link = re.compile(r"\]\((?!https?:|#)([^)#\s]+)")
    broken = [f"{p.relative_to(ROOT)} → {target}" for p, text in _course_texts() if p.suffix in (".md", ".ipynb")
              for target in link.findall(text) if not (p.parent / target).exists()]
    assert not broken, broken


def test_the_readme_stays_a_guide():
    """Measurements live on the results page; the README keeps what a newcomer needs, within 10 KB."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) <= 10_000, len(readme.encode())
    for heading in ("## 시작하기", "## 하드웨어 프로필", "## 노트북 지도", "## 한 단계만 다시 실행하기", "## 결과는 어디에", "## 문제 해결"):
        assert heading in readme, heading
