from __future__ import annotations

import pytest

from simulators.errors import BadFaultSpec
from simulators.faults import Fault, parse_fault


@pytest.mark.parametrize("spec, fault", [
    ("2:drop_link:30", Fault(2, "drop_link", "30", 0.0)),
    ("1:fail_battery@120", Fault(1, "fail_battery", None, 120.0)),
    ("3:refuse_arm:Compass not calibrated", Fault(3, "refuse_arm", "Compass not calibrated")),
    ("3:refuse_arm", Fault(3, "refuse_arm", None)),
    (" 2:lose_gps:20@60 ", Fault(2, "lose_gps", "20", 60.0)),
])
def test_fault_specs_parse(spec, fault):
    assert parse_fault(spec) == fault


@pytest.mark.parametrize("spec, hint", [
    ("drop_link", "SYSID:KIND"),
    ("2:explode", "unknown kind"),
    ("x:drop_link:3", "must be numbers"),
    ("0:fail_battery", ">= 1"),
    ("2:drop_link", "duration"),
    ("2:lose_gps:-5", "duration"),
    ("1:fail_battery:now", "no argument"),
    ("1:fail_battery@-3", ">= 0"),
])
def test_bad_fault_specs_say_the_accepted_form(spec, hint):
    with pytest.raises(BadFaultSpec, match=hint):
        parse_fault(spec)
