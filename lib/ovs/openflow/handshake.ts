/**
 * The refusals of the HELLO handshake of an {@link OpenFlowClient}: the switch does not offer
 * OpenFlow 1.3, or answers the HELLO with an error. Both say how to enable OpenFlow 1.3 on OVS.
 */
import { DpdkError } from '../../errors.js';
import type { OpenFlowClient } from './client.js';
import {
  decodeErrorMessage,
  OFPET_HELLO_FAILED,
  protocolNames,
  type OpenFlowErrorInfo,
  type OpenFlowMessage,
} from './codec.js';

/** The `ERR_OPENFLOW_VERSION` error of a switch whose HELLO does not offer OpenFlow 1.3. */
export function versionError(target: string, versions: readonly number[]): DpdkError {
  const offered =
    versions.length === 0
      ? 'no OpenFlow version'
      : versions.map((v) => protocolNames[v] ?? `wire version ${v}`).join(', ');
  return new DpdkError(
    `${target} does not offer OpenFlow 1.3 (it offers ${offered}); add OpenFlow13 to the bridge's protocols, e.g. ovs-vsctl set bridge BRIDGE protocols=OpenFlow10,OpenFlow13`,
    { code: 'ERR_OPENFLOW_VERSION', operation: 'OpenFlowClient.connect', object: target },
  );
}

/**
 * The error of a switch that answered the HELLO with an OFPT_ERROR: `ERR_OPENFLOW_VERSION` when
 * it refused the version, else `ERR_OPENFLOW`.
 */
export function helloError(target: string, message: OpenFlowMessage): DpdkError {
  let info: OpenFlowErrorInfo | undefined;
  try {
    info = decodeErrorMessage(message.body);
  } catch {
    info = undefined;
  }
  if (info && info.type === OFPET_HELLO_FAILED) {
    const text = info.data
      .toString('latin1')
      .replace(/[^\x20-\x7e]/g, '')
      .trim();
    return new DpdkError(
      `${target} refused OpenFlow 1.3 (${info.codeName}${text ? `: ${text}` : ''}); add OpenFlow13 to the bridge's protocols, e.g. ovs-vsctl set bridge BRIDGE protocols=OpenFlow10,OpenFlow13`,
      { code: 'ERR_OPENFLOW_VERSION', operation: 'OpenFlowClient.connect', object: target },
    );
  }
  return new DpdkError(
    `${target} sent an error during the handshake: ${info ? `${info.typeName} ${info.codeName}` : 'undecodable'}`,
    {
      code: 'ERR_OPENFLOW',
      operation: 'OpenFlowClient.connect',
      object: target,
    },
  );
}
