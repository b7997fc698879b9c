/** The per-FailoverService checks, in the order their messages read best. */
import type { Check } from './check.ts';
import { referencesCheck } from './references.ts';
import { tenancyCheck } from './tenancy.ts';
import { hostnameCheck } from './hostname.ts';
import { clustersCheck } from './clusters.ts';
import { portsCheck } from './ports.ts';
import { protocolCheck } from './protocol.ts';
import { gatewaysCheck } from './gateways.ts';
import { namesCheck } from './names.ts';
import { istioVersionCheck } from './istio-version.ts';
import { healthCheck } from './health.ts';
import { localTierCheck } from './local-tier.ts';

export type { Check } from './check.ts';

export const CHECKS: readonly Check[] = [referencesCheck, tenancyCheck, hostnameCheck, clustersCheck, portsCheck, protocolCheck, gatewaysCheck, namesCheck, istioVersionCheck, healthCheck, localTierCheck];
