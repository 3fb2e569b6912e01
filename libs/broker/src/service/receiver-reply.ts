import type { Dispatcher } from '@eventing/delivery';
import { pathOf } from '../addresses';
import type { BrokerReplyFn } from '../egress/trigger-router';

/**
 * Stores a trigger subscriber's reply in its broker the way any producer would: POSTed to the broker's
 * receiver (`receiverUrl` without a trailing `/`), which decrements the TTL the reply carries over
 * from the original (T11) and answers 202 once the reply is stored. A refusal fails the delivery, and
 * the original is dead-lettered.
 */
export function receiverReply(dispatcher: Dispatcher, receiverUrl: string, timeoutMs: number): BrokerReplyFn {
  return async (trigger, event, headers) => {
    const url = `${receiverUrl}${pathOf('broker', trigger.namespace, trigger.broker)}`;
    const sent = await dispatcher.send(url, event, headers, { format: 'binary', timeoutMs });
    if (sent.ok) return { ok: true };
    return {
      ok: false,
      status: sent.status,
      reason: `the broker's receiver refused the reply: ${sent.reason}`,
    };
  };
}
