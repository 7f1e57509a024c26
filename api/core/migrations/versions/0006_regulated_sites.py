"""regulated sites: the registry, yearly grades, external scores, site visits and their audit;
penalties with their discretion baseline

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 21:41:25
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import api.core.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('geometry_geojson', sa.Text(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('patrol_request_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', api.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patrol_request_id'], ['patrol_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sites_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_sites_ref'), ['ref'], unique=True)

    op.create_table('site_grades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('grade', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('rule_text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('record_json', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', api.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('site_grades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_grades_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_grades_year'), ['year'], unique=False)

    op.create_table('site_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('complaints', sa.Integer(), nullable=False),
    sa.Column('imported_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('imported_at', api.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'year', 'source', name='uq_site_scores_key')
    )
    with op.batch_alter_table('site_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_scores_site_id'), ['site_id'], unique=False)

    op.create_table('site_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('visit_day', sa.Date(), nullable=False),
    sa.Column('grade', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('basis_event_id', sa.Integer(), nullable=True),
    sa.Column('basis_note', sa.Text(), nullable=True),
    sa.Column('exception', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('exception_why', sa.Text(), nullable=True),
    sa.Column('approve_by', sa.Date(), nullable=True),
    sa.Column('approver', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('approved_at', api.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('inspectors', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('start_time', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('notice_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('noticed_at', api.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', api.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', api.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['basis_event_id'], ['events.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('site_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_visits_notice_code'), ['notice_code'], unique=True)
        batch_op.create_index(batch_op.f('ix_site_visits_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_visits_visit_day'), ['visit_day'], unique=False)

    op.create_table('site_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('at', api.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.ForeignKeyConstraint(['visit_id'], ['site_visits.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('site_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_audit_site_id'), ['site_id'], unique=False)

    op.create_table('penalties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('zone_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('amount_cny', sa.Float(), nullable=False),
    sa.Column('baseline_scope', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('baseline_n', sa.Integer(), nullable=False),
    sa.Column('baseline_median_cny', sa.Float(), nullable=True),
    sa.Column('baseline_p25_cny', sa.Float(), nullable=True),
    sa.Column('baseline_p75_cny', sa.Float(), nullable=True),
    sa.Column('departs', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', api.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_penalties_event_type'), ['event_type'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_penalties_event_type'))

    op.drop_table('penalties')
    with op.batch_alter_table('site_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_audit_site_id'))

    op.drop_table('site_audit')
    with op.batch_alter_table('site_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_visits_visit_day'))
        batch_op.drop_index(batch_op.f('ix_site_visits_site_id'))
        batch_op.drop_index(batch_op.f('ix_site_visits_notice_code'))

    op.drop_table('site_visits')
    with op.batch_alter_table('site_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_scores_site_id'))

    op.drop_table('site_scores')
    with op.batch_alter_table('site_grades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_grades_year'))
        batch_op.drop_index(batch_op.f('ix_site_grades_site_id'))

    op.drop_table('site_grades')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sites_ref'))
        batch_op.drop_index(batch_op.f('ix_sites_kind'))

    op.drop_table('sites')
