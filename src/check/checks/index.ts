/** Every check of `spillway check`, in the order their results read best. */
import type { Check } from '../types.ts';
import { reachableCheck } from './reachable.ts';
import { spillwayInstalledCheck } from './spillway-installed.ts';
import { istioInstalledCheck } from './istio-installed.ts';
import { rootOfTrustCheck } from './root-of-trust.ts';
import { injectionCheck } from './injection.ts';
import { dnsCaptureCheck } from './dns-capture.ts';
import { gatewayServiceCheck } from './gateway-service.ts';
import { destinationRulesCheck } from './destination-rules.ts';
import { virtualServicesCheck } from './virtual-services.ts';
import { sidecarsCheck } from './sidecars.ts';
import { exportToCheck } from './export-to.ts';
import { endpointDiscoveryCheck } from './endpoint-discovery.ts';

export const CHECKS: readonly Check[] = [
  reachableCheck,
  spillwayInstalledCheck,
  istioInstalledCheck,
  rootOfTrustCheck,
  injectionCheck,
  dnsCaptureCheck,
  gatewayServiceCheck,
  destinationRulesCheck,
  virtualServicesCheck,
  sidecarsCheck,
  exportToCheck,
  endpointDiscoveryCheck,
];
