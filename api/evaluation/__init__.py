"""What the evaluator reads: closed-loop figures, hot spots, the loudspeaker's savings and the
HTML report. Reads the lifecycle and enforcement records; writes nothing."""
