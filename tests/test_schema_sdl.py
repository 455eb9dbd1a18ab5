from schema.build import SDL_PATH, export_sdl


def test_committed_sdl_matches_the_served_schema():
    assert SDL_PATH.read_text(encoding="utf-8") == export_sdl(), "run `sanji schema export` and commit"


def test_the_security_page_shows_the_permission_table_of_the_code():
    from pathlib import Path

    from schema.permission_table import embed

    page = Path(__file__).parents[1] / "docs" / "security.md"
    text = page.read_text(encoding="utf-8")
    assert text == embed(text), "run `sanji schema permissions --update docs/security.md` and commit"
