# Reviews and moderation come with the reviews work (SPEC F-35, F-36).
