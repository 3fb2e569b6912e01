export { type DeliveryPolicy, NO_RETRY, backoffDelay } from './policy';
export { PASSTHROUGH_HEADERS, pickPassthroughHeaders } from './headers';
export {
  type SendResult,
  type ReplySink,
  type DeliveryRequest,
  type DeliveryOutcome,
  type DispatcherOptions,
  Dispatcher,
} from './dispatcher';
