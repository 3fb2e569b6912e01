import { join } from 'node:path';
import { describeServiceSettings } from '@eventing/testing';
import { kafkaBrokerDispatcher } from './main';

describeServiceSettings(kafkaBrokerDispatcher, join(__dirname, '..', 'README.md'));
