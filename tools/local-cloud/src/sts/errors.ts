// STS error codes with the HTTP status AWS answers them with.

export type StsErrorCode =
  | 'ValidationError'
  | 'MissingAction'
  | 'InvalidAction'
  | 'AccessDenied'
  | 'InvalidIdentityToken'
  | 'ExpiredTokenException'
  | 'IDPCommunicationError'
  | 'IDPRejectedClaim'
  | 'Throttling';

const STATUS: Record<StsErrorCode, number> = {
  ValidationError: 400,
  MissingAction: 400,
  InvalidAction: 400,
  AccessDenied: 403,
  InvalidIdentityToken: 400,
  ExpiredTokenException: 400,
  IDPCommunicationError: 400,
  IDPRejectedClaim: 403,
  Throttling: 400,
};

export class StsError extends Error {
  override name = 'StsError';
  readonly status: number;

  constructor(
    readonly code: StsErrorCode,
    message: string,
    /** Why, for the emulator's log only: AWS never tells the caller which condition failed. */
    readonly detail?: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export const NOT_AUTHORIZED = 'Not authorized to perform sts:AssumeRoleWithWebIdentity';
