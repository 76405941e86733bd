from apps.core.markdown import render_markdown


def test_markdown_is_rendered_and_sanitized():
    html = render_markdown(
        "## Pay\n\n<script>alert(1)</script> [x](javascript:alert(1)) **bold**\n\n| a |\n|---|\n| 1 |"
    )
    assert "<h2>Pay</h2>" in html and "<strong>bold</strong>" in html and "<table>" in html
    assert "<script" not in html and "javascript:" not in html


def test_empty_description_renders_nothing():
    assert render_markdown("") == ""
