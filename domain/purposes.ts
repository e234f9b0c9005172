/** Why a tenant sends a message: it sets retention, opt-out exemption, default validity and review. */
export const PURPOSES = ['otp', 'transactional', 'marketing'] as const;
export type Purpose = (typeof PURPOSES)[number];
