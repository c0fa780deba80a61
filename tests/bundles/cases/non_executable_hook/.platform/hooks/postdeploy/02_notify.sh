#!/bin/bash
echo notify
