import { join } from 'node:path';
import { describeServiceSettings } from '@eventing/testing';
import { kafkaChannelDispatcher } from './main';

describeServiceSettings(kafkaChannelDispatcher, join(__dirname, '..', 'README.md'));
