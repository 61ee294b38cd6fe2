"""service item english: the category and description of a service item in English

Revision ID: 0014_service_item_english
Revises: 0013_notification_skill
Create Date: 2026-11-29 10:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_service_item_english'
down_revision = '0013_notification_skill'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_en', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('description_en', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.drop_column('description_en')
        batch_op.drop_column('category_en')
