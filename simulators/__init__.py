"""flyonce simulators: the outside world for tests and the demo.

The MAVLink copter fleet (``simulators.fleet.Fleet``, ``flyonce sim``) stands in for ArduCopter
SITL as described in shared/MAVLINK.md; the synthetic town and its camera live in
``simulators.town`` and ``simulators.camera``. Importing this package imports nothing heavy.

Where the simulated copters deviate from ArduCopter (4.5):

- Physics is kinematic: velocity demands are met within WPNAV_ACCEL / WPNAV_ACCEL_Z, no jerk
  limits or S-curves; the physics step (default 0.1 s) caps every stream at 10 Hz mission time.
- Stream rates and all timers are mission time (as SITL's), so at 20x a 4 Hz stream arrives at
  80 Hz wall, and FS_GCS_TIMEOUT counts mission seconds.
- STABILIZE without a pilot holds altitude and drifts with the wind (no RC input is simulated).
- Wind (SIM_WIND_SPD/DIR/TURB) never blows the copter off a held position; gusts jitter it and
  the airspeed limit (15 m/s) slows it into a headwind. Battery voltage is linear in charge
  (4.2 -> 3.3 V per cell), with no sag; a failed battery loses one cell. At 0 % it lands.
- Parameter defaults that differ: WPNAV_SPEED 1200 (cruise 12 m/s, capped at 15),
  BATT_FS_LOW_ACT 2 (RTL), BATT_LOW_VOLT 14.0 V (4S pack). Only the listed parameters exist.
- SET_MODE gets no COMMAND_ACK (ArduPilot sends one for id 11). SET_POSITION_TARGET_GLOBAL_INT
  takes positions only (velocity-only masks are ignored). No fence or rally: uploads of those
  get MAV_MISSION_UNSUPPORTED, downloads a count of 0. Out-of-order mission items are ignored
  rather than NAKed; the vehicle re-asks after 1 s of silence (scaled by the speed-up).
- DO_REPOSITION on the ground is FAILED ("take off first"). Any do-command in a mission other
  than DO_CHANGE_SPEED is skipped. Terrain frames are treated as relative to home.
- Each new connection gets a HEARTBEAT at once; ACKs precede requested messages.
- The GCS failsafe counts heartbeats from SYSID_MYGCS (255, pymavlink's and MAVProxy's default).
- Every copter carries a loudspeaker (``simulators.speaker``) standing in for an on-board Lua
  script: MAV_CMD_DO_SEND_SCRIPT_MESSAGE (217) and TUNNEL text uploads are answered as that
  script would; ``Fleet.start(speakers=[False, …])`` leaves it off (217 is then UNSUPPORTED).
"""
