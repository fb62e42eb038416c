from __future__ import annotations

from anyllm_desktop.ingest.html_blocks import html_title, html_to_blocks, parse_html_root

PAGE = """<html><head><title>Guide</title><script>var x = 1;</script></head><body>
<nav><a href="/">Home</a> <a href="/faq">FAQ</a></nav>
<div class="toc"><ul><li>1. Install</li><li>2. Use</li></ul></div>
<h1>Guide</h1>
<p>Intro text
   spread over lines.<br>Second line.</p>
<h2>1. Install</h2>
<ul><li><p>Download it.</p></li><li>Run <code>setup</code>.</li></ul>
<pre>  make install
  make test</pre>
<table><tr><th>OS</th><th>Command</th></tr><tr><td>Debian</td><td>apt install x</td></tr></table>
<p>42</p>
<footer class="footer">Copyright</footer>
</body></html>"""


def test_structure_is_kept_and_furniture_dropped() -> None:
    root = parse_html_root(PAGE)
    blocks = html_to_blocks(root)
    assert html_title(root) == "Guide"
    kinds = [(b.kind, b.level) for b in blocks]
    assert kinds == [("heading", 1), ("text", 0), ("heading", 2), ("list", 0), ("list", 0),
                     ("code", 0), ("table", 0)]  # fmt: skip
    texts = [b.text for b in blocks]
    assert texts[1] == "Intro text spread over lines.\nSecond line."
    assert texts[3] == "• Download it." and texts[4] == "• Run setup."
    assert texts[5] == "  make install\n  make test"  # code keeps its indentation
    assert blocks[6].rows == [["OS", "Command"], ["Debian", "apt install x"]]
    joined = " ".join(texts)
    for furniture in ("Home", "var x", "1. Install 2. Use", "Copyright"):
        assert furniture not in joined
    assert "42" not in texts  # a bare number paragraph is noise


def test_layout_tables_are_walked_into() -> None:
    html = "<table><tr><td><h2>Title</h2><p>Body text here.</p></td></tr></table>"
    blocks = html_to_blocks(parse_html_root(html))
    assert [(b.kind, b.text) for b in blocks] == [("heading", "Title"), ("text", "Body text here.")]
