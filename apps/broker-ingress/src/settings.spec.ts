import { join } from 'node:path';
import { describeServiceSettings } from '@eventing/testing';
import { brokerIngress } from './main';

describeServiceSettings(brokerIngress, join(__dirname, '..', 'README.md'));
