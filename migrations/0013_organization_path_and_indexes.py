from api.migration_ops import compare_organization_paths_bytewise, fill_organization_paths
from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.org import OrgKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_calendar_day_kind')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='AgencyBatchCase',
            name='case',
            field=fields.ForeignKeyField('models.Case', source_field='case_id', db_index=True, db_constraint=True, to_field='id', related_name='batch_cases', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='Case',
            name='item',
            field=fields.ForeignKeyField('models.Item', source_field='item_id', db_index=True, db_constraint=True, to_field='id', related_name='cases', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddIndex(
            model_name='Case',
            index=Index(fields=['submitted_at_organization_id', 'id'], name='idx_case_submitted_at_org_id'),
        ),
        ops.AddIndex(
            model_name='Case',
            index=Index(fields=['handling_organization_id', 'id'], name='idx_case_handling_org_id'),
        ),
        ops.AlterField(
            model_name='CaseEvent',
            name='case',
            field=fields.ForeignKeyField('models.Case', source_field='case_id', db_index=True, db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='CaseEvent',
            name='organization',
            field=fields.ForeignKeyField('models.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name='case_events', on_delete=OnDelete.RESTRICT),
        ),
        ops.AlterField(
            model_name='ItemAssignment',
            name='organization',
            field=fields.ForeignKeyField('models.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name='assignments', on_delete=OnDelete.RESTRICT),
        ),
        ops.AlterField(
            model_name='Organization',
            name='kind',
            field=fields.CharEnumField(description='PROVINCE: PROVINCE\nDISTRICT: DISTRICT\nADMINISTRATION: ADMINISTRATION\nSUB_DISTRICT: SUB_DISTRICT\nTEAM: TEAM\nVILLAGE: VILLAGE\nCOMMUNITY: COMMUNITY', enum_type=OrgKind, max_length=16),
        ),
        ops.AlterField(
            model_name='Organization',
            name='parent',
            field=fields.ForeignKeyField('models.Organization', source_field='parent_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Organization',
            name='path',
            field=fields.CharField(null=True, db_index=True, max_length=255),
        ),
        ops.RunPython(fill_organization_paths),
        ops.AlterField(
            model_name='Organization',
            name='path',
            field=fields.CharField(default='', db_index=True, max_length=255),
        ),
        ops.RunPython(compare_organization_paths_bytewise),
        ops.AlterField(
            model_name='Staff',
            name='organization',
            field=fields.ForeignKeyField('models.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name='staff', on_delete=OnDelete.RESTRICT),
        ),
    ]
