"""connectbot: gets an advertiser's Amazon account connected to the platform, in chat."""
