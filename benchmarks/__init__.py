"""SLO and throughput runs, each printing figures beside its baseline and writing JSON."""
