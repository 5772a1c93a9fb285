"""In-silico trials of stem-cell-derived beta-cell grafts in virtual type 1 diabetes patients.

The glucose–insulin model is the UVA/Padova 2008 type 1 diabetes model as in simglucose 0.2.11,
reimplemented here so that a whole cohort is one array integration (numpy, or numba where it is
installed); a graft adds glucose-responsive secretion scaled by functional beta-cell mass.
"""
