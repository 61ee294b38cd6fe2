"""district over towns: town and district offices, departments of a town or of the district

Also indexes account deletions (the matcher watches the newest one).

An existing installation moves into one default district: its town joins it, its town admins
hold that town, its departments and service items belong to that town. Nothing is lost.

Revision ID: 0018_district
Revises: 0017_match_weight_set
Create Date: 2026-11-29 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_district'
down_revision = '0017_match_weight_set'
branch_labels = None
depends_on = None

DEFAULT_CODE, DEFAULT_NAME = "JS", "金山区"


def _default_district() -> tuple[str, str]:
    """The district an existing town moves into: the configured one (as ``setup`` makes)."""
    try:
        from flask import current_app

        return current_app.config["DISTRICT_CODE"], current_app.config["DISTRICT_NAME"]
    except (RuntimeError, KeyError):
        return DEFAULT_CODE, DEFAULT_NAME


def upgrade():
    op.create_table(
        'district',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_district')),
        sa.UniqueConstraint('code', name=op.f('uq_district_code')),
    )
    conn = op.get_bind()
    code, name = _default_district()
    conn.execute(sa.text("INSERT INTO district (code, name) SELECT :code, :name "
                         "WHERE EXISTS (SELECT 1 FROM town)"), {"code": code, "name": name})
    first_town = "(SELECT MIN(id) FROM town)"

    with op.batch_alter_table('town', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lon', sa.Float(), nullable=True))
    conn.execute(sa.text("UPDATE town SET district_id = (SELECT MIN(id) FROM district)"))
    with op.batch_alter_table('town', schema=None) as batch_op:
        batch_op.alter_column('district_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_town_district_id_district'), 'district',
                                    ['district_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_town_district_id'), ['district_id'], unique=False)

    with op.batch_alter_table('role_assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('town_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('district_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint('uq_role_assignment_scope', type_='unique')
        batch_op.create_unique_constraint('uq_role_assignment_scope', [
            'user_id', 'role', 'grid_id', 'village_id', 'department_id', 'town_id',
            'district_id'])
        batch_op.create_foreign_key(batch_op.f('fk_role_assignment_town_id_town'), 'town',
                                    ['town_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_role_assignment_district_id_district'),
                                    'district', ['district_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_role_assignment_town_id'), ['town_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_role_assignment_district_id'), ['district_id'],
                              unique=False)
    conn.execute(sa.text(f"UPDATE role_assignment SET town_id = {first_town} "
                         "WHERE role = 'admin' AND town_id IS NULL"))

    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.add_column(sa.Column('town_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('district_id', sa.Integer(), nullable=True))
    conn.execute(sa.text(f"UPDATE department SET town_id = {first_town}"))
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_department_town_id_town'), 'town',
                                    ['town_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_department_district_id_district'),
                                    'district', ['district_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_department_town_id'), ['town_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_department_district_id'), ['district_id'],
                              unique=False)
        batch_op.create_check_constraint(
            op.f('ck_department_one_owner'), '(town_id IS NULL) <> (district_id IS NULL)')

    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('town_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_service_item_town_id_town'), 'town',
                                    ['town_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_service_item_town_id'), ['town_id'], unique=False)
    conn.execute(sa.text(f"UPDATE service_item SET town_id = {first_town}"))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_deleted_at'), ['deleted_at'], unique=False)

    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('town_department_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_issue_town_department_id_department'),
                                    'department', ['town_department_id'], ['id'])


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_deleted_at'))
    op.execute("UPDATE issue SET tier = 'department', department_id = town_department_id "
               "WHERE tier = 'district'")
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_issue_town_department_id_department'),
                                 type_='foreignkey')
        batch_op.drop_column('town_department_id')
    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_item_town_id'))
        batch_op.drop_constraint(batch_op.f('fk_service_item_town_id_town'), type_='foreignkey')
        batch_op.drop_column('town_id')
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_department_one_owner'), type_='check')
        batch_op.drop_index(batch_op.f('ix_department_district_id'))
        batch_op.drop_index(batch_op.f('ix_department_town_id'))
        batch_op.drop_constraint(batch_op.f('fk_department_district_id_district'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_department_town_id_town'), type_='foreignkey')
        batch_op.drop_column('district_id')
        batch_op.drop_column('town_id')
    op.execute("DELETE FROM role_assignment WHERE role = 'district_admin'")
    with op.batch_alter_table('role_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_assignment_district_id'))
        batch_op.drop_index(batch_op.f('ix_role_assignment_town_id'))
        batch_op.drop_constraint(batch_op.f('fk_role_assignment_district_id_district'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_role_assignment_town_id_town'),
                                 type_='foreignkey')
        batch_op.drop_constraint('uq_role_assignment_scope', type_='unique')
        batch_op.create_unique_constraint('uq_role_assignment_scope', [
            'user_id', 'role', 'grid_id', 'village_id', 'department_id'])
        batch_op.drop_column('district_id')
        batch_op.drop_column('town_id')
    with op.batch_alter_table('town', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_town_district_id'))
        batch_op.drop_constraint(batch_op.f('fk_town_district_id_district'), type_='foreignkey')
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')
        batch_op.drop_column('district_id')
    op.drop_table('district')
