"""Standard weighers, one per module. Each scores a list of candidates.

    ram        RamWeigher            free memory (MB)
    vcpu       VcpuWeigher           free vCPUs
    instances  InstanceCountWeigher  instances held

Scores are raw: the pipeline normalises each weigher's scores to [0, 1] and
multiplies them by the configured multiplier. A positive multiplier prefers
high scores, a negative one low scores: free RAM with +1 spreads, instance
count with +1 packs.
"""
