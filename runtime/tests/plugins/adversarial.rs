//! Every adversarial plugin yields its named outcome, and the host survives.
