import { join } from 'node:path';
import { describeServiceSettings } from '@eventing/testing';
import { natsChannelDispatcher } from './main';

describeServiceSettings(natsChannelDispatcher, join(__dirname, '..', 'README.md'));
