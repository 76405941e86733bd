"""pg_trgm for typo-tolerant search, when the server ships it.

``TrigramExtension`` (``CREATE EXTENSION pg_trgm``) is only run when the server lists pg_trgm in
``pg_available_extensions``: the embedded ``pgserver`` wheel used by ``make demo`` does not ship
it (only plpgsql and vector), and search then corrects typos in Python instead
(``apps.search.backends.postgres``). The trigram index is created only where the extension is.
"""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class TrigramExtensionIfAvailable(TrigramExtension):
    """``CREATE EXTENSION pg_trgm`` where the server has it; a no-op elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
            if cursor.fetchone() is None:
                return
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass  # other apps may use pg_trgm too: never dropped here


TRIGRAM_INDEX = """
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    CREATE INDEX IF NOT EXISTS search_term_trgm ON search_searchterm USING gin (term gin_trgm_ops);
  END IF;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        TrigramExtensionIfAvailable(),
        migrations.RunSQL(TRIGRAM_INDEX, reverse_sql="DROP INDEX IF EXISTS search_term_trgm;"),
    ]
