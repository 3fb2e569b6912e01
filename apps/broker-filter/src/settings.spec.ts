import { join } from 'node:path';
import { describeServiceSettings } from '@eventing/testing';
import { brokerFilter } from './main';

describeServiceSettings(brokerFilter, join(__dirname, '..', 'README.md'));
