"""patrols: the planner's runs (merged against alone), a failed flight's reason, flights by drone

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:10:00

A table of patrol plans (one per planning run of a week, with the merged and the alone figures
and the passes left unserved); on patrol flights the plan they belong to, the reason a flight
failed or was cancelled, and an index on the drone (ingest looks up a drone's current flight).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.core.models

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('patrol_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('flights', sa.Integer(), nullable=False),
    sa.Column('flight_s', sa.Float(), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=False),
    sa.Column('alone_flights', sa.Integer(), nullable=False),
    sa.Column('alone_flight_s', sa.Float(), nullable=False),
    sa.Column('alone_length_m', sa.Float(), nullable=False),
    sa.Column('unserved_json', sa.Text(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', api.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('patrol_flights', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_patrol_flights_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrol_flights_drone_id'), ['drone_id'], unique=False)
        batch_op.create_foreign_key('fk_patrol_flights_plan_id', 'patrol_plans', ['plan_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('patrol_flights', schema=None) as batch_op:
        batch_op.drop_constraint('fk_patrol_flights_plan_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patrol_flights_drone_id'))
        batch_op.drop_index(batch_op.f('ix_patrol_flights_plan_id'))
        batch_op.drop_column('reason')
        batch_op.drop_column('plan_id')

    op.drop_table('patrol_plans')
