"""volunteer record: national volunteer number and an optional identity document

Revision ID: 0011_volunteer_record
Revises: 0010_trust
Create Date: 2026-11-29 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_volunteer_record'
down_revision = '0010_trust'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('volunteer_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('national_no', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('id_type', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('id_number', sa.String(length=30), nullable=True))


def downgrade():
    with op.batch_alter_table('volunteer_profile', schema=None) as batch_op:
        batch_op.drop_column('id_number')
        batch_op.drop_column('id_type')
        batch_op.drop_column('national_no')
