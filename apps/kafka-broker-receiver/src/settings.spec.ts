import { join } from 'node:path';
import { describeServiceSettings } from '@eventing/testing';
import { kafkaBrokerReceiver } from './main';

describeServiceSettings(kafkaBrokerReceiver, join(__dirname, '..', 'README.md'));
