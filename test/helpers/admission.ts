/** Test servers whose agents' visitor-rule flags are compiled as the accounts admission does, without a store. */
import { AccessPolicy } from '../../src/auth/access-policy.js';
import { toAccessInput } from '../../src/auth/admission.js';
import { OPEN_ADMISSION, type AgentAdmission } from '../../src/server/admission.js';

export const RULES_ADMISSION: AgentAdmission = {
  ...OPEN_ADMISSION,
  async admit(req) {
    const input = toAccessInput(req.access);
    return { name: req.name, access: input ? AccessPolicy.fromInput(input) : undefined };
  },
};
