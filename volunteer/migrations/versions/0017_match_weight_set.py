"""match weight set: learned weights switched on by a person; invitation changes indexed

The matcher follows invitation changes (``invitation.updated_at``); at most one weight set is
active (a partial unique index).

Revision ID: 0017_match_weight_set
Revises: 0016_match_slate
Create Date: 2026-11-29 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_match_weight_set'
down_revision = '0016_match_slate'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'match_weight_set',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('weights', sa.JSON(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.Column('activated_at', sa.DateTime(), nullable=True),
        sa.Column('activated_by_id', sa.Integer(), nullable=True),
        sa.Column('retired_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['activated_by_id'], ['user.id'],
                                name=op.f('fk_match_weight_set_activated_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_match_weight_set')),
    )
    op.create_index(op.f('ix_match_weight_set_status'), 'match_weight_set', ['status'])
    op.create_index('uq_match_weight_set_active', 'match_weight_set', ['status'], unique=True,
                    postgresql_where=sa.text("status = 'active'"),
                    sqlite_where=sa.text("status = 'active'"))
    op.create_index(op.f('ix_invitation_updated_at'), 'invitation', ['updated_at'])


def downgrade():
    op.drop_index(op.f('ix_invitation_updated_at'), table_name='invitation')
    op.drop_index('uq_match_weight_set_active', table_name='match_weight_set')
    op.drop_index(op.f('ix_match_weight_set_status'), table_name='match_weight_set')
    op.drop_table('match_weight_set')
