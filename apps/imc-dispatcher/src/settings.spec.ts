import { join } from 'node:path';
import { describeServiceSettings } from '@eventing/testing';
import { imcDispatcher } from './main';

describeServiceSettings(imcDispatcher, join(__dirname, '..', 'README.md'));
