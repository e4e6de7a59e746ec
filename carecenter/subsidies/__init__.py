"""Who pays: residents' eligibility groups, the center's subsidy rules, and pricing a service record."""
