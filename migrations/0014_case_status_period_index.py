from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.case import CaseStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_organization_path_and_indexes')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Case',
            name='status',
            field=fields.CharEnumField(description='SUBMITTED: SUBMITTED\nACCEPTED: ACCEPTED\nREJECTED: REJECTED\nPRE_REVIEWED: PRE_REVIEWED\nSUPPLEMENT_REQUESTED: SUPPLEMENT_REQUESTED\nREVIEWED: REVIEWED\nDECIDED: DECIDED\nCOMPLETED: COMPLETED\nDELIVERED: DELIVERED\nWITHDRAWN: WITHDRAWN', enum_type=CaseStatus, max_length=24),
        ),
        ops.AddIndex(
            model_name='Case',
            index=Index(fields=['status', 'submitted_at'], name='idx_case_status_submitted_at'),
        ),
    ]
