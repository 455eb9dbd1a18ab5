from api import db
from api.models.org import Organization
from api.settings import Settings
from seeds.qujialing import load
from tests.conftest import DEMO_PASSWORD


async def test_loading_the_fixture_twice_changes_nothing(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        before = await Organization.all().count()
        report = await load(DEMO_PASSWORD)
        assert report.loaded is False
        assert report.counts["Organization"] == before == 44
        again = await load(DEMO_PASSWORD)
        assert again.counts == report.counts
