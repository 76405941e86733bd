def contract_drift_check(*, product_id: int) -> int:
    return 0
