"""match slate: every suggestion list shown, and the slate an invitation came from

Revision ID: 0016_match_slate
Revises: 0015_outbox
Create Date: 2026-11-29 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_match_slate'
down_revision = '0015_outbox'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'match_slate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('viewer_id', sa.Integer(), nullable=True),
        sa.Column('context', sa.String(length=20), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=True),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('item_kind', sa.String(length=10), nullable=False),
        sa.Column('skills', sa.JSON(), nullable=True),
        sa.Column('propensity', sa.Float(), nullable=False),
        sa.Column('volunteers', sa.Text(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['viewer_id'], ['user.id'],
                                name=op.f('fk_match_slate_viewer_id_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['issue_id'], ['issue.id'],
                                name=op.f('fk_match_slate_issue_id_issue'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['session_id'], ['service_session.id'],
                                name=op.f('fk_match_slate_session_id_service_session'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_match_slate')),
    )
    op.create_index(op.f('ix_match_slate_created_at'), 'match_slate', ['created_at'])
    op.create_index(op.f('ix_match_slate_issue_id'), 'match_slate', ['issue_id'])
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slate_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('slate_rank', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invitation_slate_id_match_slate'),
                                    'match_slate', ['slate_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invitation_slate_id_match_slate'),
                                 type_='foreignkey')
        batch_op.drop_column('slate_rank')
        batch_op.drop_column('slate_id')
    op.drop_index(op.f('ix_match_slate_issue_id'), table_name='match_slate')
    op.drop_index(op.f('ix_match_slate_created_at'), table_name='match_slate')
    op.drop_table('match_slate')
