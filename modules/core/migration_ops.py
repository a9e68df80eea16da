"""Migration operations for PostgreSQL features that a server may lack.

The embedded PostgreSQL of the zero-setup default ships without contrib extensions such as
pg_trgm; production servers have them. Trigram indexes speed up `icontains` search at scale,
so they are created where the extension is available and skipped (search still works, with a
sequential scan) where it is not.
"""

from django.db import migrations


def extension_available(schema_editor, name: str) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [name])
        return cursor.fetchone() is not None


class CreateExtensionIfAvailable(migrations.operations.base.Operation):
    reversible = True

    def __init__(self, name):
        self.name = name

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if extension_available(schema_editor, self.name):
            schema_editor.execute(f'CREATE EXTENSION IF NOT EXISTS "{self.name}"')

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return f"Create extension {self.name} where available"


class CreateTrigramIndexIfAvailable(migrations.operations.base.Operation):
    """GIN trigram index on UPPER(column), matching Django's `icontains` SQL."""

    reversible = True

    def __init__(self, table, column, name):
        self.table, self.column, self.name = table, column, name

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if extension_available(schema_editor, "pg_trgm"):
            schema_editor.execute('CREATE EXTENSION IF NOT EXISTS "pg_trgm"')
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{self.name}" ON "{self.table}" '
                f'USING gin ((UPPER("{self.column}"::text)) gin_trgm_ops)'
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(f'DROP INDEX IF EXISTS "{self.name}"')

    def describe(self):
        return f"Create trigram index {self.name} where pg_trgm is available"
