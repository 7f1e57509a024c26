"""events: the running weighted fit of their sightings' positions (a merge reads no old sightings)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL on the events already stored: the next merge into one fits it from its sightings.
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fit_weight', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('fit_lat_sum', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('fit_lon_sum', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('fit_lon_sum')
        batch_op.drop_column('fit_lat_sum')
        batch_op.drop_column('fit_weight')
