"""issue address: the address or a landmark, as people type it

Revision ID: 0012_issue_address
Revises: 0011_volunteer_record
Create Date: 2026-11-29 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_issue_address'
down_revision = '0011_volunteer_record'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_column('address')
