from schema import SDL_PATH, export_sdl


def test_committed_sdl_matches_the_served_schema():
    assert SDL_PATH.read_text(encoding="utf-8") == export_sdl(), "run `sanji schema export` and commit"
