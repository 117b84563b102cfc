/**
 * Versions of the published contracts. A breaking change to the REST API (the OpenAPI document)
 * or to the Socket.IO events needs a bump here and an entry in docs/api/CHANGELOG.md; the check
 * (test/integration/api-contract.test.ts) compares both with the copies in docs/api/.
 */
export const CONTRACT_VERSIONS = {
  rest: '0.2.0',
  socket: '0.1.0',
} as const;
