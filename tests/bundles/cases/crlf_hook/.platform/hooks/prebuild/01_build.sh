#!/bin/bash
echo built
