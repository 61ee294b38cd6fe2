"""offline patrol reports: the phone outbox's idempotency key and the time made on the phone

Revision ID: 0021_offline
Revises: 0020_callup
Create Date: 2026-12-01 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_offline'
down_revision = '0020_callup'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_uuid', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('made_at', sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_issue_client_uuid'), ['client_uuid'])


def downgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_issue_client_uuid'), type_='unique')
        batch_op.drop_column('made_at')
        batch_op.drop_column('client_uuid')
